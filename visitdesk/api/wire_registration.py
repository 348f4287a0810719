"""Wire models for patient registration, security codes and the registration queue (issue 3).

Staff side: the desk issues, lists, revokes and reissues security codes; the feed carries
`security_code` (SecurityCodeOut) and `registration` (RegistrationOut) items.
Patient side: the request/response models of the registration, connect and link flows.

The full security code travels exactly once, in `SecurityCodeIssued.code`; everywhere else a code
is only its `hint`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from visitdesk.api.wire import AwareDatetime, Name, StrictInt, Wire

SecurityCodePurpose = Literal["register", "link"]
SecurityCodeStatus = Literal["active", "used", "expired", "revoked", "locked"]
Relationship = Literal["self", "child", "spouse", "parent", "dependent", "other"]
RegistrationStatus = Literal["pending", "matched", "rejected", "cancelled"]

#: Shortest and longest validity a staff member may give a security code, in days.
MIN_CODE_DAYS = 1
MAX_CODE_DAYS = 90

Login = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
EnteredCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$"
    ),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=12)]


# --------------------------------------------------------------------------- staff: security codes


class SecurityCodeCreate(Wire):
    patient_id: str
    purpose: SecurityCodePurpose
    relationship: Relationship = Field(
        default="self",
        description=(
            "For a link code: who the patient is to the account holder ('self' is refused). "
            "A register code is always 'self'."
        ),
    )
    account_login: Login | None = Field(
        default=None,
        description=(
            "Link codes only: the email or username of the one account allowed to redeem the "
            "code. None lets any signed-in account redeem it."
        ),
    )
    expires_in_days: Annotated[StrictInt, Field(ge=MIN_CODE_DAYS, le=MAX_CODE_DAYS)] | None = Field(
        default=None, description="Validity in days; None uses the practice's default (14)."
    )

    @model_validator(mode="after")
    def _purpose_fits(self) -> SecurityCodeCreate:
        if self.purpose == "link" and self.relationship == "self":
            raise ValueError("a link code needs the patient's relationship to the account holder")
        if self.purpose == "register" and self.relationship != "self":
            raise ValueError("a register code is for the patient themself; use relationship 'self'")
        if self.purpose == "register" and self.account_login is not None:
            raise ValueError("account_login applies to link codes only")
        return self


class SecurityCodeOut(Wire):
    id: str
    patient_id: str
    purpose: SecurityCodePurpose
    relationship: Relationship
    status: SecurityCodeStatus = Field(
        description="'expired' when past expires_at and never used; computed when read."
    )
    hint: str = Field(description="The last group of the code only, e.g. '•••• TW9R'.")
    issued_at: AwareDatetime
    issued_by: str = Field(description="Name of the staff member who issued the code.")
    expires_at: AwareDatetime
    used_at: AwareDatetime | None = None
    revoked_at: AwareDatetime | None = None
    failed_attempts: int = 0


class SecurityCodeIssued(Wire):
    code: str = Field(
        description=(
            "The full code, grouped for reading aloud (K7QM-3XHP-TW9R). Shown only in this "
            "response: the portal keeps only a keyed hash."
        )
    )
    security_code: SecurityCodeOut


class CodeAlreadyIssued(Wire):
    """409 answer to a repeat of an issue/reissue call's Idempotency-Key.

    The portal does not keep the full code, so it cannot replay the first answer: the code was
    issued (see ``security_code_id``); reissue it to get a new code to hand over.
    """

    detail: str
    security_code_id: str


# --------------------------------------------------------------------------- staff: registration queue


class RegistrationOut(Wire):
    id: str
    account_id: str
    status: RegistrationStatus
    first_name: str
    last_name: str
    date_of_birth: date
    email: str = ""
    phone: str = ""
    postal_code: str = ""
    created_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None
    patient_id: str | None = Field(default=None, description="Set when matched.")
    reason: str = Field(default="", description="Rejection reason shown to the patient.")


# --------------------------------------------------------------------------- patient: accounts


class EmailRegistration(Wire):
    first_name: Name
    last_name: Name
    email: Email
    password: Password
    accept_terms: bool = Field(description="Must be true: the Terms & Conditions were accepted.")


class RegistrationAccepted(Wire):
    """The answer to an email registration, identical whether or not the email was known."""

    message: str
    confirmation_sent_to: str


EmailChoice = Literal["add", "proceed_without"]


PracticeCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class UsernameRegistration(Wire):
    practice_code: PracticeCode = Field(
        description="The practice whose office issued the security code (printed on the slip)."
    )
    username: Username
    password: Password
    first_name: Name
    last_name: Name
    security_code: EnteredCode
    email: Email | None = None
    email_choice: EmailChoice | None = Field(
        default=None,
        description=(
            "Required when no email is given: 'proceed_without' creates the account without an "
            "email; 'add' means the client goes back to collect one (the request is refused with "
            "422 'email_required' so the client shows the email field)."
        ),
    )


class EmailConfirmation(Wire):
    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class SecurityQuestion(Wire):
    id: str
    text: str


class SecurityAnswer(Wire):
    question_id: str
    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SecurityAnswers(Wire):
    answers: Annotated[list[SecurityAnswer], Field(min_length=3, max_length=3)]


class SecurityQuestionsStatus(Wire):
    set: bool
    question_ids: list[str] = Field(default_factory=list)
    set_at: AwareDatetime | None = None


class AccountDetails(Wire):
    id: str
    display_name: str
    email: str | None
    email_confirmed: bool
    username: str | None
    security_questions_set: bool
    needs_security_questions: bool = Field(
        description="True for a username account that has not yet chosen its three questions."
    )


# --------------------------------------------------------------------------- patient: connect / link

Channel = Literal["email", "text"]


class ConnectRequest(Wire):
    practice_code: PracticeCode
    first_name: Name
    last_name: Name
    date_of_birth: date
    phone: Phone = ""
    postal_code: PostalCode = ""
    channel: Channel = Field(
        default="email",
        description="Where the Safe Health Code goes: the email or phone on the patient record.",
    )


ConnectOutcome = Literal["code_sent", "queued", "already_connected"]


class ConnectStarted(Wire):
    outcome: ConnectOutcome
    channel: Channel | None = Field(
        default=None,
        description="Where the code went: the chosen channel, or the other one when the record "
        "has no contact for the chosen channel.",
    )
    connect_id: str | None = Field(
        default=None, description="Pass to the verify call when outcome is 'code_sent'."
    )
    sent_to: str = Field(
        default="",
        description="Masked destination on the record (e.g. 'j•••@example.com', '•••-•••-1234').",
    )
    expires_at: AwareDatetime | None = None
    registration_id: str | None = Field(
        default=None, description="Set when outcome is 'queued': the office will review it."
    )
    message: str


class SafeHealthCodeEntry(Wire):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


class LinkRequest(Wire):
    practice_code: PracticeCode
    security_code: EnteredCode


class PatientRegistration(Wire):
    """A registration waiting in (or decided by) a practice's queue, as its account sees it."""

    id: str
    practice_name: str
    status: RegistrationStatus
    first_name: str
    last_name: str
    date_of_birth: date
    created_at: AwareDatetime
    reason: str = ""


# --------------------------------------------------------------------------- staff: queue decisions (issue 4)

RejectReasonCode = Literal[
    "no_record", "details_differ", "already_connected", "call_office", "duplicate_request"
]

#: What the patient is told for each rejection reason, in plain words (the desk offers these as
#: templates; the staff member may add a sentence of their own).
REJECT_REASONS: dict[str, str] = {
    "no_record": (
        "We could not find a patient record for you at this practice. If you are a new patient, "
        "please call the office to register first."
    ),
    "details_differ": (
        "The details you entered do not match our records. Please call the office so we can "
        "check them with you."
    ),
    "already_connected": (
        "This patient is already connected to another portal account. Please call the office."
    ),
    "call_office": "We need to confirm a few details with you. Please call the office.",
    "duplicate_request": (
        "This request duplicates another one we received from you; we will handle that one."
    ),
}

#: Short labels of the rejection templates, for the desk's list.
REJECT_REASON_LABELS: dict[str, str] = {
    "no_record": "Not a patient here (no record)",
    "details_differ": "Details do not match our records",
    "already_connected": "Patient already connected to another account",
    "call_office": "Needs a call to confirm details",
    "duplicate_request": "Duplicate of another request",
}

ReasonText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class RegistrationMatch(Wire):
    patient_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    score: float = Field(
        description="The matching score the desk showed for this record (kept in the audit trail)."
    )
    note: Note = ""


class RegistrationReject(Wire):
    reason_code: RejectReasonCode
    text: ReasonText = Field(
        default="", description="Optional words added to the template, shown to the patient."
    )


def rejection_text(reason_code: str, text: str = "") -> str:
    """What the patient reads: the template, then the staff member's own words if any."""
    base = REJECT_REASONS[reason_code]
    extra = text.strip()
    return f"{base} {extra}" if extra else base
