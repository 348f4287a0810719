"""Wire models of myInfo: patients' changes to their demographics and insurance, and the desk's
field-by-field review of them.

A patient submits the fields they want changed for one of their linked patients (address, phone,
email, insurance details, and the front and back of the insurance card as images uploaded
first). The change waits in the practice's review queue; staff accept or reject each field. The
feed carries ``demographic_change`` items (DemographicChangeOut) and ``insurance`` items
(InsuranceOut, a patient's insurance as it stands after accepted changes); accepted address,
phone and email changes reach desks as ordinary ``patient`` items.

For a card field the value is the id of the uploaded image, never the image itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from visitdesk.api.wire import AwareDatetime, ShortText, Wire
from visitdesk.api.wire_registration import Email, Phone, PostalCode

DemographicField = Literal[
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
    "insurance_payer",
    "insurance_member_id",
    "insurance_group",
    "insurance_subscriber",
    "insurance_relationship",
    "insurance_card_front",
    "insurance_card_back",
]
FieldDecision = Literal["pending", "accepted", "rejected"]
StaffFieldDecision = Literal["accepted", "rejected"]
ChangeStatus = Literal["pending", "decided"]
#: The subscriber's relationship to the patient (who holds the policy).
SubscriberRelationship = Literal["self", "spouse", "parent", "other"]
CardImageType = Literal["image/png", "image/jpeg"]
#: The policy holder in words, for screens and exports.
RELATIONSHIP_WORDS = {
    "self": "The patient",
    "spouse": "Spouse",
    "parent": "Parent",
    "other": "Someone else",
}

#: Fields that live on the patient record itself (the practice's demographics).
RECORD_FIELDS: tuple[str, ...] = (
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
)
#: Insurance fields, each with the name of the insurance record's attribute it sets.
INSURANCE_FIELDS: dict[str, str] = {
    "insurance_payer": "payer",
    "insurance_member_id": "member_id",
    "insurance_group": "group_number",
    "insurance_subscriber": "subscriber",
    "insurance_relationship": "relationship",
    "insurance_card_front": "card_front_image_id",
    "insurance_card_back": "card_back_image_id",
}
CARD_FIELDS: frozenset[str] = frozenset({"insurance_card_front", "insurance_card_back"})
#: Every field in the order staff read them.
FIELD_ORDER: tuple[str, ...] = (*RECORD_FIELDS, *INSURANCE_FIELDS)
FIELD_LABELS: dict[str, str] = {
    "address_line1": "Address",
    "address_line2": "Address line 2",
    "city": "City",
    "state": "State",
    "postal_code": "ZIP code",
    "phone": "Phone",
    "email": "Email",
    "insurance_payer": "Insurance payer",
    "insurance_member_id": "Member ID",
    "insurance_group": "Group number",
    "insurance_subscriber": "Subscriber",
    "insurance_relationship": "Policy holder",
    "insurance_card_front": "Insurance card (front)",
    "insurance_card_back": "Insurance card (back)",
}

#: Largest card image the portal accepts, in bytes.
MAX_CARD_BYTES = 5 * 1024 * 1024
#: Most changes one staff listing returns.
MAX_CHANGE_LIST = 500

ImageId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
PolicyText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class DemographicChangeSubmit(Wire):
    """A patient's change for one linked patient: only the fields given are changes."""

    patient_id: ImageId
    address_line1: ShortText | None = None
    address_line2: ShortText | None = None
    city: ShortText | None = None
    state: ShortText | None = None
    postal_code: PostalCode | None = None
    phone: Phone | None = None
    email: Email | None = None
    insurance_payer: ShortText | None = None
    insurance_member_id: PolicyText | None = None
    insurance_group: PolicyText | None = None
    insurance_subscriber: ShortText | None = None
    insurance_relationship: SubscriberRelationship | None = None
    insurance_card_front: ImageId | None = Field(
        default=None, description="Id of a card image uploaded with POST /insurance-cards."
    )
    insurance_card_back: ImageId | None = Field(
        default=None, description="Id of a card image uploaded with POST /insurance-cards."
    )

    @model_validator(mode="after")
    def _something_changes(self) -> DemographicChangeSubmit:
        if not self.changes():
            raise ValueError("give at least one field to change")
        return self

    def changes(self) -> dict[str, str]:
        """The fields given, in review order."""
        values = {name: getattr(self, name) for name in FIELD_ORDER}
        return {name: value for name, value in values.items() if value is not None}


class FieldChange(Wire):
    field: DemographicField
    value: str = Field(description="The patient's value (a card image's id for a card field).")
    decision: FieldDecision = "pending"


class DemographicChangeOut(Wire):
    """A change as the practice sees it (staff list, detail and the feed)."""

    id: str
    patient_id: str
    account_id: str
    account_name: str = Field(description="Who sent it: the portal account holder's name.")
    status: ChangeStatus
    submitted_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None
    fields: list[FieldChange]


class DemographicChangeDetail(Wire):
    change: DemographicChangeOut
    on_record: dict[str, str] = Field(
        description="The record's current value of each field of the change ('' when none; "
        "a card image's id for a card field)."
    )


class DemographicDecision(Wire):
    """Staff's decision on every field of a change."""

    decisions: Annotated[dict[DemographicField, StaffFieldDecision], Field(min_length=1)]


class PatientDemographicChange(Wire):
    """A change as the account that sent it sees it: each field's outcome."""

    id: str
    patient_id: str
    practice_name: str
    status: ChangeStatus
    submitted_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    fields: list[FieldChange]


class CardImageUploaded(Wire):
    id: str
    content_type: CardImageType
    size: int


class InsuranceOut(Wire):
    """A patient's insurance as the practice holds it (feed kind ``insurance``)."""

    patient_id: str
    payer: str = ""
    member_id: str = ""
    group_number: str = ""
    subscriber: str = ""
    relationship: str = ""
    card_front_image_id: str = ""
    card_back_image_id: str = ""
    updated_at: AwareDatetime


def card_type(head: bytes) -> CardImageType | None:
    """The image type of a file by its first bytes (what it is, not what it says it is)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None
