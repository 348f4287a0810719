"""The catalogue of staff commands: every call the desk makes on the portal's staff API.

One entry per call says its HTTP method, its path template (relative to `STAFF_PREFIX`), the model
its body must be, the model of its answer and whether it carries an `Idempotency-Key`. The desk's
client builds its requests from an entry, the outbox stores an entry's name with the path parameters
and the body, and the portal's staff routes take their method, path and answer model from the same
entry, so the two sides cannot drift apart by a typo.

A bulk upsert names the records of its body (`BulkRecords`): two batches of the same upsert that
name different records have the same effect in either order, so the outbox may send them at once.

Path parameters are record ids; `check_id` is the one check every id passes before it is placed in
a path, so no id can add a segment, a query or an escape to the URL.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, StrictStr, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from visitdesk.api.wire import (
    STAFF_PREFIX,
    AppointmentOut,
    AppointmentUpsert,
    ChangesPage,
    CheckInOut,
    CheckInStatusUpdate,
    PatientUpsert,
    RefreshRequest,
    SessionCreate,
    SessionTokens,
    UpsertResult,
)
from visitdesk.api.wire_accounts import StaffPasswordChange, StaffPasswordReset
from visitdesk.api.wire_audit import (
    AuditHeadOut,
    AuditPage,
    AuditVerification,
    DeskEvent,
    DeskEventRecorded,
)
from visitdesk.api.wire_billing import LedgerColumns, LedgerUpsert
from visitdesk.api.wire_checkins import CheckInSettings, DeskCheckInCreate
from visitdesk.api.wire_links import (
    AccountLock,
    AccountState,
    LinkPage,
    LinkRevoke,
    LinkRow,
    ReviewList,
    ReviewSettings,
)
from visitdesk.api.wire_messages import (
    Colleague,
    MessageCreate,
    MessageOut,
    QuickTextSet,
    ThreadAssign,
    ThreadOut,
    ThreadRead,
)
from visitdesk.api.wire_myinfo import (
    DemographicChangeDetail,
    DemographicChangeOut,
    DemographicDecision,
)
from visitdesk.api.wire_registration import (
    RegistrationMatch,
    RegistrationOut,
    RegistrationReject,
    SecurityCodeCreate,
    SecurityCodeIssued,
    SecurityCodeOut,
)
from visitdesk.api.wire_staff import StaffCreate, StaffCreated, StaffMember, StaffRoleChange

Out = TypeVar("Out")
Method = Literal["GET", "POST", "PUT", "DELETE"]

#: Longest id the portal hands out or accepts in a path.
MAX_ID_LENGTH = 64
#: Characters that would change a URL's meaning if an id carried them into a path or a query.
_UNSAFE_ID_CHARS = frozenset("/?#%&=\\ ") | frozenset(string.whitespace)


def check_id(value: str) -> str:
    """`value` if it can be placed in a URL path as one segment; ValueError otherwise."""
    if (
        not value
        or len(value) > MAX_ID_LENGTH
        or value in (".", "..")
        or any(ch in _UNSAFE_ID_CHARS for ch in value)
    ):
        raise ValueError("Not a valid record id.")
    return value


@dataclass(frozen=True)
class BulkRecords:
    """Where a bulk upsert's body lists its records (`field`) and what names each one (`key`).
    A batch in columns has no `key`: its `field` is the column of the records' names."""

    field: str
    key: str | None

    def keys(self, body: Mapping[str, Any] | None) -> frozenset[str] | None:
        """The records a dumped body names, or None when the body is not of this shape."""
        records = body.get(self.field) if isinstance(body, Mapping) else None
        if not isinstance(records, list):
            return None
        keys = set()
        for record in records:
            if self.key is None:
                key = record
            else:
                key = record.get(self.key) if isinstance(record, Mapping) else None
            if not isinstance(key, str):
                return None
            keys.add(key)
        return frozenset(keys)

    def keys_in_json(self, body_json: str) -> frozenset[str] | None:
        """:meth:`keys` of a body given as its JSON text, without building the rest of it.

        The push line asks this of every batch it sends. Parsing a 5,000-line batch whole cost
        four times as much: this builds only the keys (the parser still checks the whole text)."""
        try:
            body = self._key_reader.validate_json(body_json)
        except ValidationError:
            return None
        if self.key is None:
            return frozenset(body[self.field])
        return frozenset(record[self.key] for record in body[self.field])

    @cached_property
    def _key_reader(self) -> TypeAdapter[Any]:
        # Fields other than the key are left out of what is built (a TypedDict ignores them).
        # The names are known only here, so the TypedDicts are made by calling it.
        typed_dict: Any = TypedDict
        if self.key is None:
            return TypeAdapter(typed_dict("Body", {self.field: list[StrictStr]}))
        record: Any = typed_dict("Record", {self.key: StrictStr})
        return TypeAdapter(typed_dict("Body", {self.field: list[record]}))


@dataclass(frozen=True)
class StaffCommand(Generic[Out]):
    """One call of the staff API. `response` is None for a call answered with 204, and `bytes`
    for one answered with a file's content (streamed, not JSON).

    `bulk` is set for an upsert of many records whose result does not depend on the order of
    batches naming different records."""

    name: str
    method: Method
    path: str
    body: type[BaseModel] | None
    response: type[Out] | None
    idempotent: bool
    bulk: BulkRecords | None = None
    params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(
            name for _, name, _, _ in string.Formatter().parse(self.path) if name is not None
        )
        object.__setattr__(self, "params", names)

    @property
    def mutating(self) -> bool:
        return self.method != "GET"

    def check_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """The path parameters, each checked; exactly the template's names must be given."""
        if set(params) != set(self.params):
            raise ValueError(
                f"{self.name} takes the path parameters {sorted(self.params)}, not {sorted(params)}"
            )
        return {name: check_id(str(params[name])) for name in self.params}

    def url_path(self, params: Mapping[str, str] | None = None) -> str:
        """The absolute API path with the (checked) parameters filled in."""
        return STAFF_PREFIX + self.path.format(**self.check_params(params or {}))

    def dump_body(self, body: BaseModel | None) -> dict[str, Any] | None:
        """The JSON body of a call; the body must be of the command's model (or absent)."""
        if self.body is None:
            if body is not None:
                raise ValueError(f"{self.name} takes no body")
            return None
        if not isinstance(body, self.body):
            raise TypeError(f"{self.name} takes a {self.body.__name__} body")
        return body.model_dump(mode="json")


def _command(
    name: str,
    method: Method,
    path: str,
    body: type[BaseModel] | None,
    response: type[Out] | None,
    *,
    idempotent: bool,
    bulk: BulkRecords | None = None,
) -> StaffCommand[Out]:
    return StaffCommand(name, method, path, body, response, idempotent, bulk)


# --------------------------------------------------------------------------- sessions

SIGN_IN = _command("sign_in", "POST", "/sessions", SessionCreate, SessionTokens, idempotent=False)
REFRESH_SESSION = _command(
    "refresh_session", "POST", "/sessions/refresh", RefreshRequest, SessionTokens, idempotent=False
)
SIGN_OUT: StaffCommand[None] = _command(
    "sign_out", "DELETE", "/sessions/current", RefreshRequest, None, idempotent=True
)
#: Not replayable: a password is never stored with an idempotency key's answer.
CHANGE_OWN_PASSWORD: StaffCommand[None] = _command(
    "change_own_password", "POST", "/sessions/password", StaffPasswordChange, None, idempotent=False
)
RESET_STAFF_PASSWORD = _command(
    "reset_staff_password",
    "POST",
    "/staff/{staff_id}/password-reset",
    None,
    StaffPasswordReset,
    idempotent=False,
)

# --------------------------------------------------------------------------- feed and records

GET_CHANGES = _command("get_changes", "GET", "/changes", None, ChangesPage, idempotent=False)
UPSERT_PATIENTS = _command(
    "upsert_patients",
    "PUT",
    "/patients",
    PatientUpsert,
    UpsertResult,
    idempotent=True,
    bulk=BulkRecords("patients", "mrn"),
)
#: Appointments and ledger lines name their patient by MRN, which must exist on the portal: they
#: never overtake patient batches (different commands never commute, see `sync.push_order`).
UPSERT_APPOINTMENTS = _command(
    "upsert_appointments",
    "PUT",
    "/appointments",
    AppointmentUpsert,
    UpsertResult,
    idempotent=True,
    bulk=BulkRecords("appointments", "external_id"),
)
UPSERT_LEDGER = _command(
    "upsert_ledger",
    "PUT",
    "/ledger",
    LedgerUpsert,
    UpsertResult,
    idempotent=True,
    bulk=BulkRecords("lines", "external_id"),
)
#: The desk uploads an import's ledger lines in columns (smaller, and quicker to check). The
#: one-object-per-line form above stays for what older desks queued.
UPSERT_LEDGER_COLUMNS = _command(
    "upsert_ledger_columns",
    "PUT",
    "/ledger/columns",
    LedgerColumns,
    UpsertResult,
    idempotent=True,
    bulk=BulkRecords("external_id", None),
)

# --------------------------------------------------------------------------- check-ins

SET_CHECKIN_STATUS = _command(
    "set_checkin_status",
    "POST",
    "/checkins/{checkin_id}/status",
    CheckInStatusUpdate,
    CheckInOut,
    idempotent=True,
)
#: The desk chooses the check-in's id (a UUID), so the row shows at once and a retry is the same.
CHECK_IN_AT_DESK = _command(
    "check_in_at_desk",
    "PUT",
    "/checkins/{checkin_id}",
    DeskCheckInCreate,
    CheckInOut,
    idempotent=True,
)
MARK_NO_SHOW = _command(
    "mark_no_show",
    "POST",
    "/appointments/{appointment_id}/no-show",
    None,
    AppointmentOut,
    idempotent=True,
)
READ_CHECKIN_SETTINGS = _command(
    "read_checkin_settings", "GET", "/checkin-settings", None, CheckInSettings, idempotent=False
)
WRITE_CHECKIN_SETTINGS = _command(
    "write_checkin_settings",
    "PUT",
    "/checkin-settings",
    CheckInSettings,
    CheckInSettings,
    idempotent=True,
)

# --------------------------------------------------------------------------- security codes

ISSUE_SECURITY_CODE = _command(
    "issue_security_code",
    "POST",
    "/security-codes",
    SecurityCodeCreate,
    SecurityCodeIssued,
    idempotent=True,
)
LIST_SECURITY_CODES = _command(
    "list_security_codes",
    "GET",
    "/security-codes",
    None,
    list[SecurityCodeOut],
    idempotent=False,
)
REVOKE_SECURITY_CODE = _command(
    "revoke_security_code",
    "POST",
    "/security-codes/{code_id}/revoke",
    None,
    SecurityCodeOut,
    idempotent=True,
)
REISSUE_SECURITY_CODE = _command(
    "reissue_security_code",
    "POST",
    "/security-codes/{code_id}/reissue",
    None,
    SecurityCodeIssued,
    idempotent=True,
)

# --------------------------------------------------------------------------- registration queue

MATCH_REGISTRATION = _command(
    "match_registration",
    "POST",
    "/registrations/{registration_id}/match",
    RegistrationMatch,
    RegistrationOut,
    idempotent=True,
)
REJECT_REGISTRATION = _command(
    "reject_registration",
    "POST",
    "/registrations/{registration_id}/reject",
    RegistrationReject,
    RegistrationOut,
    idempotent=True,
)

# --------------------------------------------------------------------------- myInfo changes

LIST_DEMOGRAPHIC_CHANGES = _command(
    "list_demographic_changes",
    "GET",
    "/demographic-changes",
    None,
    list[DemographicChangeOut],
    idempotent=False,
)
GET_DEMOGRAPHIC_CHANGE = _command(
    "get_demographic_change",
    "GET",
    "/demographic-changes/{change_id}",
    None,
    DemographicChangeDetail,
    idempotent=False,
)
#: Answered with the image's bytes (PNG or JPEG), not JSON.
GET_CARD_IMAGE = _command(
    "get_card_image", "GET", "/card-images/{image_id}", None, bytes, idempotent=False
)
DECIDE_DEMOGRAPHIC_CHANGE = _command(
    "decide_demographic_change",
    "POST",
    "/demographic-changes/{change_id}/decision",
    DemographicDecision,
    DemographicChangeOut,
    idempotent=True,
)

# --------------------------------------------------------------------------- secure messages

REPLY_TO_THREAD = _command(
    "reply_to_thread",
    "POST",
    "/threads/{thread_id}/messages",
    MessageCreate,
    MessageOut,
    idempotent=True,
)
ASSIGN_THREAD = _command(
    "assign_thread",
    "POST",
    "/threads/{thread_id}/assign",
    ThreadAssign,
    ThreadOut,
    idempotent=True,
)
CLOSE_THREAD = _command(
    "close_thread", "POST", "/threads/{thread_id}/close", None, ThreadOut, idempotent=True
)
MARK_THREAD_READ = _command(
    "mark_thread_read",
    "POST",
    "/threads/{thread_id}/read",
    ThreadRead,
    ThreadOut,
    idempotent=True,
)
LIST_COLLEAGUES = _command(
    "list_colleagues", "GET", "/colleagues", None, list[Colleague], idempotent=False
)
DOWNLOAD_ATTACHMENT = _command(
    "download_attachment",
    "GET",
    "/threads/{thread_id}/attachments/{attachment_id}",
    None,
    bytes,
    idempotent=False,
)
READ_QUICK_TEXTS = _command(
    "read_quick_texts", "GET", "/quick-texts", None, QuickTextSet, idempotent=False
)
#: Managers only; the whole set is replaced, so a repeat is harmless.
WRITE_QUICK_TEXTS = _command(
    "write_quick_texts", "PUT", "/quick-texts", QuickTextSet, QuickTextSet, idempotent=True
)

# --------------------------------------------------------------------------- linked accounts (managers)

LIST_LINKS = _command("list_links", "GET", "/links", None, LinkPage, idempotent=False)
REVIEW_LINKS = _command("review_links", "GET", "/links/review", None, ReviewList, idempotent=False)
READ_REVIEW_SETTINGS = _command(
    "read_review_settings", "GET", "/links/review-settings", None, ReviewSettings, idempotent=False
)
WRITE_REVIEW_SETTINGS = _command(
    "write_review_settings",
    "PUT",
    "/links/review-settings",
    ReviewSettings,
    ReviewSettings,
    idempotent=True,
)
REVOKE_LINK = _command(
    "revoke_link", "POST", "/links/{link_id}/revoke", LinkRevoke, LinkRow, idempotent=True
)
LOCK_ACCOUNT = _command(
    "lock_account",
    "POST",
    "/accounts/{account_id}/lock",
    AccountLock,
    AccountState,
    idempotent=True,
)
UNLOCK_ACCOUNT = _command(
    "unlock_account", "POST", "/accounts/{account_id}/unlock", None, AccountState, idempotent=True
)

# --------------------------------------------------------------------------- audit trail (managers)

LIST_AUDIT = _command("list_audit", "GET", "/audit", None, AuditPage, idempotent=False)
AUDIT_HEAD = _command("audit_head", "GET", "/audit/head", None, AuditHeadOut, idempotent=False)
VERIFY_AUDIT = _command(
    "verify_audit", "GET", "/audit/verify", None, AuditVerification, idempotent=False
)
#: Sent through the outbox, so a statement run made offline reaches the trail later.
RECORD_DESK_EVENT = _command(
    "record_desk_event", "POST", "/audit/desk-events", DeskEvent, DeskEventRecorded, idempotent=True
)

# --------------------------------------------------------------------------- staff accounts (managers)

LIST_STAFF = _command("list_staff", "GET", "/staff", None, list[StaffMember], idempotent=False)
#: Not idempotent: the answer holds a one-time password the portal does not keep; a repeat
#: finds the username taken.
ADD_STAFF = _command("add_staff", "POST", "/staff", StaffCreate, StaffCreated, idempotent=False)
SET_STAFF_ROLE = _command(
    "set_staff_role",
    "POST",
    "/staff/{staff_id}/role",
    StaffRoleChange,
    StaffMember,
    idempotent=True,
)
DISABLE_STAFF = _command(
    "disable_staff", "POST", "/staff/{staff_id}/disable", None, StaffMember, idempotent=True
)
ENABLE_STAFF = _command(
    "enable_staff", "POST", "/staff/{staff_id}/enable", None, StaffMember, idempotent=True
)

#: Every staff command by name (the name is what the outbox stores).
STAFF_COMMANDS: Mapping[str, StaffCommand[Any]] = {
    command.name: command
    for command in (
        SIGN_IN,
        REFRESH_SESSION,
        SIGN_OUT,
        CHANGE_OWN_PASSWORD,
        RESET_STAFF_PASSWORD,
        GET_CHANGES,
        UPSERT_PATIENTS,
        UPSERT_APPOINTMENTS,
        UPSERT_LEDGER,
        UPSERT_LEDGER_COLUMNS,
        SET_CHECKIN_STATUS,
        CHECK_IN_AT_DESK,
        MARK_NO_SHOW,
        READ_CHECKIN_SETTINGS,
        WRITE_CHECKIN_SETTINGS,
        ISSUE_SECURITY_CODE,
        LIST_SECURITY_CODES,
        REVOKE_SECURITY_CODE,
        REISSUE_SECURITY_CODE,
        MATCH_REGISTRATION,
        REJECT_REGISTRATION,
        LIST_DEMOGRAPHIC_CHANGES,
        GET_DEMOGRAPHIC_CHANGE,
        GET_CARD_IMAGE,
        DECIDE_DEMOGRAPHIC_CHANGE,
        REPLY_TO_THREAD,
        ASSIGN_THREAD,
        CLOSE_THREAD,
        MARK_THREAD_READ,
        LIST_COLLEAGUES,
        DOWNLOAD_ATTACHMENT,
        READ_QUICK_TEXTS,
        WRITE_QUICK_TEXTS,
        LIST_LINKS,
        REVIEW_LINKS,
        READ_REVIEW_SETTINGS,
        WRITE_REVIEW_SETTINGS,
        REVOKE_LINK,
        LOCK_ACCOUNT,
        UNLOCK_ACCOUNT,
        LIST_AUDIT,
        AUDIT_HEAD,
        VERIFY_AUDIT,
        RECORD_DESK_EVENT,
        LIST_STAFF,
        ADD_STAFF,
        SET_STAFF_ROLE,
        DISABLE_STAFF,
        ENABLE_STAFF,
    )
}


def bulk_of(name: str) -> BulkRecords | None:
    """Where the command called `name` lists its records, or None for a command that is not a
    bulk upsert (or a name this version does not know)."""
    command = STAFF_COMMANDS.get(name)
    return command.bulk if command is not None else None


def command_named(name: str) -> StaffCommand[Any]:
    """The catalogue entry called `name`; ValueError for a name this version does not know."""
    try:
        return STAFF_COMMANDS[name]
    except KeyError:
        raise ValueError(f"unknown staff command {name!r}") from None
