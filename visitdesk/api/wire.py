"""The wire schema between the desktop and the portal service.

Both sides import these models: the portal uses them as FastAPI request and response models,
the desktop's PortalClient parses responses with them. Changing a field here changes the API.
Dates are ISO 8601; datetimes are timezone-aware UTC on the wire; money is integer cents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints

STAFF_PREFIX = "/api/staff/v1"
PATIENT_PREFIX = "/api/patient/v1"

#: Most records one bulk upsert may carry; clients split larger imports into batches.
MAX_UPSERT_BATCH = 5000
#: Most change items one page of the feed may carry.
MAX_CHANGES_LIMIT = 5000
#: Longest long-poll the portal honours, in seconds.
MAX_WAIT_SECONDS = 30
#: Header a desk sends with GET /changes: how many of its changes wait in its outbox (a number
#: for the portal's metrics; no content of the changes).
OUTBOX_DEPTH_HEADER = "X-VisitDesk-Outbox-Depth"
#: Header a desk sends with GET /changes: the feed level it reads. Level 2 reads batch items
#: (``ledger_lines``), level 3 also batches in columns (``ledger_columns``). A desk that reads a
#: lower level would skip a batch as a kind it does not know and lose its lines, so the portal
#: refuses it such a page (426) instead; a desk that sends no level reads level 1.
FEED_LEVEL_HEADER = "X-VisitDesk-Feed-Level"
FEED_LEVEL = 3
#: Feed kinds whose one item stands for a batch of records, and the feed level that reads each.
FEED_LEVEL_OF_BATCH = {"ledger_lines": 2, "ledger_columns": 3}
BATCH_CHANGE_KINDS = frozenset(FEED_LEVEL_OF_BATCH)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a timezone offset")
    try:
        # Near year 1 or 9999 an offset can push the UTC instant out of datetime's range.
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime is out of range once converted to UTC") from None
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
#: An integer sent as a JSON integer: no `true` for 1, no 12.0, no "12".
StrictInt = Annotated[int, Strict()]
#: Largest sequence number of the change feed (a signed 64-bit integer in the database).
MAX_SEQ = 2**63 - 1
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Mrn = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$"
    ),
]


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- staff sessions


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    BILLING = "billing"
    MANAGER = "manager"


class SessionCreate(Wire):
    practice: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class StaffInfo(Wire):
    id: str
    name: str
    role: Role


class PracticeInfo(Wire):
    id: str
    code: str
    name: str
    phone: str = ""
    timezone: str = "America/New_York"


class SessionTokens(Wire):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the access token expires.")
    staff: StaffInfo
    practice: PracticeInfo
    password_change_required: bool = Field(
        default=False,
        description="A manager reset the password: until it is changed (POST "
        "/sessions/password) every other call of this session answers 403.",
    )


class RefreshRequest(Wire):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


# --------------------------------------------------------------------------- practice records

Sex = Literal["F", "M", "X", "U"]


class PatientRecord(Wire):
    """A patient as the practice management system knows it; MRN is unique per practice."""

    mrn: Mrn
    first_name: Name
    last_name: Name
    middle_name: ShortText = ""
    date_of_birth: date
    sex: Sex = "U"
    address_line1: ShortText = ""
    address_line2: ShortText = ""
    city: ShortText = ""
    state: ShortText = ""
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=12)] = ""
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = ""
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] = ""


class PatientOut(PatientRecord):
    id: str
    updated_at: AwareDatetime


class PatientUpsert(Wire):
    patients: Annotated[list[PatientRecord], Field(max_length=MAX_UPSERT_BATCH)]


class UpsertResult(Wire):
    created: int
    updated: int
    unchanged: int


AppointmentStatus = Literal["scheduled", "cancelled"]


class AppointmentRecord(Wire):
    """An appointment from the practice management system, keyed by its id there."""

    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    mrn: Mrn
    starts_at: AwareDatetime
    duration_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)] = 15
    provider: Name
    location: ShortText = ""
    reason: ShortText = ""
    status: AppointmentStatus = "scheduled"


class AppointmentOut(AppointmentRecord):
    id: str
    patient_id: str
    no_show_at: AwareDatetime | None = Field(
        default=None, description="When the desk marked the patient a no-show (None: not marked)."
    )
    no_show_by: str | None = Field(
        default=None, description="Name of the staff member who marked the no-show."
    )


class AppointmentUpsert(Wire):
    appointments: Annotated[list[AppointmentRecord], Field(max_length=MAX_UPSERT_BATCH)]


# --------------------------------------------------------------------------- check-ins


class CheckInStatus(StrEnum):
    ARRIVED = "arrived"
    ACKNOWLEDGED = "acknowledged"
    ROOMED = "roomed"
    #: The visit is over (the patient left the room); the board stops counting the wait.
    DONE = "done"
    CANCELLED = "cancelled"


#: How a check-in began: the patient's I'm Here tap in the app, or the front desk.
CheckInSource = Literal["app", "desk"]


class CheckInOut(Wire):
    id: str
    patient_id: str
    appointment_id: str | None = None
    arrived_at: AwareDatetime
    status: CheckInStatus
    status_changed_at: AwareDatetime
    status_changed_by: str | None = Field(
        default=None, description="Name of the staff member who last changed the status."
    )
    source: CheckInSource = Field(
        default="app", description="app: the patient tapped I'm Here; desk: checked in by staff."
    )
    thread_id: str | None = Field(default=None, description="The arrival chat the tap began.")


class CheckInStatusUpdate(Wire):
    status: Literal[
        CheckInStatus.ACKNOWLEDGED,
        CheckInStatus.ROOMED,
        CheckInStatus.DONE,
        CheckInStatus.CANCELLED,
    ]


# --------------------------------------------------------------------------- change feed

#: Kinds of feed items known today. `ChangeItem.kind` is a plain string so that a desk older than
#: its portal can skip kinds it does not know instead of failing to read the page.
KNOWN_CHANGE_KINDS = (
    "patient",
    "appointment",
    "checkin",
    "security_code",
    "registration",
    "ledger_line",
    "ledger_lines",
    "ledger_columns",
    "payment",
    "arrival_attempt",
    "checkin_settings",
    "demographic_change",
    "insurance",
    "thread",
    "thread_message",
    "quick_texts",
)
ChangeOp = Literal["upsert", "delete"]


class ChangeItem(Wire):
    """One entry of a practice's change feed. `data` is the kind's *Out model, dumped as JSON."""

    seq: int
    kind: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    op: ChangeOp
    id: str
    data: dict[str, Any]


class ChangesPage(Wire):
    items: list[ChangeItem]
    last_seq: int = Field(description="Pass as `after` on the next call.")
    more: bool = Field(description="True when more items are waiting beyond this page.")


# --------------------------------------------------------------------------- patient side


class PatientSignIn(Wire):
    login: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class AccountInfo(Wire):
    id: str
    display_name: str


class PatientSession(Wire):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    account: AccountInfo


class LinkedPatient(Wire):
    patient_id: str
    practice_id: str
    practice_name: str
    first_name: str
    last_name: str
    date_of_birth: date
    relationship: str


class PatientAppointment(Wire):
    id: str
    patient_id: str
    starts_at: AwareDatetime
    duration_minutes: int
    provider: str
    location: str
    status: AppointmentStatus
    check_in_opens_at: AwareDatetime | None = Field(
        default=None, description="From when I'm Here is accepted for this appointment."
    )
    check_in_closes_at: AwareDatetime | None = Field(
        default=None, description="Until when I'm Here is accepted for this appointment."
    )


class PatientCheckInCreate(Wire):
    patient_id: str
    appointment_id: str | None = None


class ErrorBody(BaseModel):
    detail: str
