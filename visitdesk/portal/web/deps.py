"""FastAPI dependencies: app state, authentication, roles and idempotent writes."""

# No ``from __future__ import annotations`` here: FastAPI resolves dependency annotations at
# runtime, and the factories below annotate with local variables (``Depends(role_check)``).

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from visitdesk.api.wire import Role
from visitdesk.portal.accounts.patient_side import PATIENT_TOKEN, full_name
from visitdesk.portal.accounts.sessions import STAFF_TOKEN
from visitdesk.portal.audit_trail.signing import AuditSigner
from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.persistence import audit, idempotency
from visitdesk.portal.persistence.clock import Clock
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.idempotency import IdempotentCall, Outcome
from visitdesk.portal.persistence.longpoll import ChangeNotifier
from visitdesk.portal.persistence.models import PatientAccount, StaffSession, StaffUser
from visitdesk.portal.persistence.models import PatientSession as PatientSessionRow
from visitdesk.portal.persistence.models_registration import SecurityAnswer
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import Forbidden, Unauthorized
from visitdesk.portal.web.notify import Messenger
from visitdesk.portal.web.security import Security, TokenError


@dataclass(frozen=True)
class PortalState:
    """Everything the app holds; one per app, reachable from every request."""

    config: PortalConfig
    db: Database
    security: Security
    notifier: ChangeNotifier
    #: Keyed hashing of security codes and Safe Health Codes.
    codes: CodeHasher
    #: Outgoing email and text messages.
    messenger: Messenger
    #: "Now" for time-based rules (link reviews); tests move it.
    clock: Clock = field(default_factory=Clock)
    #: Signs audit checkpoints (key file in the data directory).
    audit_signer: AuditSigner | None = None
    #: Live-session checks of the change feed, remembered briefly (see :func:`feed_staff`).
    feed_sessions: "SessionMemo" = field(default_factory=lambda: SessionMemo(0.0))


def portal_state(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


async def get_state(request: Request) -> PortalState:
    # ``async``: FastAPI runs a plain ``def`` dependency on the thread pool, one hop per request.
    return portal_state(request)


State = Annotated[PortalState, Depends(get_state)]


def _is_trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_address(request: Request) -> str:
    """The client's address for throttling: the peer, or what a trusted proxy says it is.

    X-Forwarded-For is read right to left (each proxy appends the address it saw) and the first
    address that is not one of our own proxies is the client; a header from anyone but a
    configured proxy is the client's own claim and ignored.
    """
    peer = request.client.host if request.client else "unknown"
    proxies: tuple[str, ...] = portal_state(request).config.trusted_proxies
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
    ]
    for hop in reversed(hops):
        if hop and not _is_trusted(hop, proxies):
            return hop
    return peer


# --------------------------------------------------------------------------- authentication

_staff_bearer = HTTPBearer(
    scheme_name="StaffBearer",
    description="Staff access token from POST /api/staff/v1/sessions.",
    auto_error=False,
)
_patient_bearer = HTTPBearer(
    scheme_name="PatientBearer",
    description="Patient access token from POST /api/patient/v1/sessions.",
    auto_error=False,
)


def _claims(
    state: PortalState, credentials: HTTPAuthorizationCredentials | None, token_type: str
) -> dict[str, object]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Sign in first: this call needs a bearer access token.")
    try:
        return state.security.tokens.verify(credentials.credentials, token_type)
    except TokenError as exc:
        if exc.expired:
            raise Unauthorized(
                "The access token has expired; refresh the session.",
                {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'},
            ) from exc
        raise Unauthorized(
            "The access token is not valid.", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from exc


def staff_scope(practice_id: str, staff_id: str) -> str:
    return f"staff:{practice_id}:{staff_id}"


@dataclass(frozen=True)
class StaffPrincipal:
    staff_id: str
    practice_id: str
    session_id: str
    role: Role
    name: str
    #: The workstation name the desk sends (``X-Workstation``), for the audit trail.
    workstation: str = ""

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor("staff", self.staff_id, self.name, self.workstation)

    @property
    def scope(self) -> str:
        # Per user, not per practice: one user's idempotency key must never replay another's
        # stored response (which may hold what the other user's role may see).
        return staff_scope(self.practice_id, self.staff_id)


def workstation_name(value: str | None) -> str:
    """The desk's name as sent, kept only if it is a plain short name (it goes into the audit)."""
    if not value:
        return ""
    name = value.strip()[:64]
    return name if all(ch.isalnum() or ch in "._- " for ch in name) else ""


_Workstation = Annotated[
    str | None,
    Header(alias="X-Workstation", description="The desk's workstation name, for the audit."),
]


PASSWORD_CHANGE_REQUIRED = (
    "Your password was reset by a manager: choose a new password before doing anything else."  # noqa: S105
)


def _signed_in_staff(
    state: PortalState, credentials: HTTPAuthorizationCredentials | None, workstation: str | None
) -> tuple[StaffPrincipal, bool]:
    """The staff member of a live session, and whether they must change their password first."""
    claims = _claims(state, credentials, STAFF_TOKEN)
    staff_id, session_id = str(claims["sub"]), str(claims.get("sid", ""))
    with state.db.read() as session:
        row = session.execute(
            select(
                StaffUser.name,
                StaffUser.role,
                StaffUser.practice_id,
                StaffUser.must_change_password,
            )
            .join(StaffSession, StaffSession.staff_id == StaffUser.id)
            .where(
                StaffUser.id == staff_id,
                StaffSession.id == session_id,
                StaffSession.revoked_at.is_(None),
                StaffUser.active.is_(True),
            )
        ).first()
    if row is None or row.practice_id != claims.get("pid"):
        raise Unauthorized("This session has ended; please sign in again.")
    # The role is read fresh so a demotion applies at once, not when the token expires.
    principal = StaffPrincipal(
        staff_id,
        row.practice_id,
        session_id,
        Role(row.role),
        row.name,
        workstation_name(workstation),
    )
    return principal, bool(row.must_change_password)


def current_staff(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)],
    workstation: _Workstation = None,
) -> StaffPrincipal:
    principal, must_change = _signed_in_staff(state, credentials, workstation)
    if must_change:
        raise Forbidden(PASSWORD_CHANGE_REQUIRED)
    return principal


def staff_changing_password(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)],
    workstation: _Workstation = None,
) -> StaffPrincipal:
    """The one call a session with a reset password may make: changing it."""
    return _signed_in_staff(state, credentials, workstation)[0]


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]


class SessionMemo:
    """What a staff session's check found, kept for ``seconds`` in this worker.

    Desks long-poll the feed; each answered change brings every desk back at once, and checking
    fifty sessions in the database for every change costs more than the change itself. Only the
    feed uses this memo. A session that ends (sign-out, password reset, user disabled) or a role
    that changes empties the memo of every worker when its transaction commits (see
    ``persistence.feed.staff_changed``); ``seconds`` bounds what a lost notification could
    cost. The token's signature and expiry are checked on every call, memo or not.
    """

    _MOST = 10_000

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._found: dict[tuple[str, str, str], tuple[float, StaffPrincipal, bool]] = {}
        #: Moves with every :meth:`forget_all`: a check that began before it is not kept.
        self.generation = 0

    def forget_all(self) -> None:
        """Staff sessions ended or a role changed somewhere: check every session afresh.
        Safe from any thread (one assignment each)."""
        self.generation += 1
        self._found = {}

    def get(self, key: tuple[str, str, str], now: float) -> tuple[StaffPrincipal, bool] | None:
        found = self._found.get(key)
        if found is None or found[0] <= now:
            return None
        return found[1], found[2]

    def put(
        self,
        key: tuple[str, str, str],
        now: float,
        value: tuple[StaffPrincipal, bool],
        generation: int,
    ) -> None:
        if self.seconds <= 0 or generation != self.generation:
            return
        if len(self._found) >= self._MOST:
            self._found = {k: v for k, v in self._found.items() if v[0] > now}
            if len(self._found) >= self._MOST:
                self._found.clear()
        self._found[key] = (now + self.seconds, *value)


async def feed_staff(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)],
    workstation: _Workstation = None,
) -> StaffPrincipal:
    """:func:`current_staff` for the change feed, with the session check remembered for
    ``feed_session_check_seconds`` (see :class:`SessionMemo`)."""
    claims = _claims(state, credentials, STAFF_TOKEN)
    # The name as the audit would keep it: junk headers all share one entry.
    key = (str(claims["sub"]), str(claims.get("sid", "")), workstation_name(workstation))
    now = time.monotonic()
    memo = state.feed_sessions
    found = memo.get(key, now)
    if found is None:
        generation = memo.generation
        found = await run_in_threadpool(_signed_in_staff, state, credentials, workstation)
        memo.put(key, now, found, generation)
    principal, must_change = found
    if must_change:
        raise Forbidden(PASSWORD_CHANGE_REQUIRED)
    return principal


FeedStaff = Annotated[StaffPrincipal, Depends(feed_staff)]


def require_roles(*roles: Role) -> Callable[[StaffPrincipal], Awaitable[StaffPrincipal]]:
    allowed = frozenset(roles)

    async def check(staff: CurrentStaff) -> StaffPrincipal:
        if staff.role not in allowed:
            raise Forbidden("Your role does not allow this action.")
        return staff

    return check


@dataclass(frozen=True)
class PatientPrincipal:
    account_id: str
    display_name: str
    session_id: str = ""
    username: str | None = None

    @property
    def scope(self) -> str:
        return f"patient:{self.account_id}"


SECURITY_QUESTIONS_FIRST = (
    "Set your three security questions first: they are how you recover this account if you "
    "forget your password."
)


_PatientBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_patient_bearer)]


#: A live patient session's account, and whether it has answered security questions: one
#: statement, built once (the check runs on every patient call).
_PATIENT_SESSION = (
    select(
        PatientAccount.id,
        PatientAccount.first_name,
        PatientAccount.last_name,
        PatientAccount.username,
        select(SecurityAnswer.account_id)
        .where(SecurityAnswer.account_id == PatientAccount.id)
        .limit(1)
        .exists(),
    )
    .join(PatientSessionRow, PatientSessionRow.account_id == PatientAccount.id)
    .where(
        PatientAccount.id == bindparam("account_id"),
        PatientAccount.active.is_(True),
        PatientSessionRow.id == bindparam("session_id"),
        PatientSessionRow.revoked_at.is_(None),
    )
)


def _signed_in_patient(
    state: PortalState, credentials: HTTPAuthorizationCredentials | None, *, dashboard: bool
) -> PatientPrincipal:
    """The account of a live patient session; with ``dashboard``, one that may use the
    dashboard (a username account must have set its security questions)."""
    claims = _claims(state, credentials, PATIENT_TOKEN)
    with state.db.read() as session:
        return _patient_session(
            session, str(claims["sub"]), str(claims.get("sid", "")), dashboard=dashboard
        )


def _patient_session(
    session: Session, account_id: str, session_id: str, *, dashboard: bool
) -> PatientPrincipal:
    row = session.execute(
        _PATIENT_SESSION, {"account_id": account_id, "session_id": session_id}
    ).first()
    if row is None:
        raise Unauthorized("This session has ended; please sign in again.")
    account_id, first_name, last_name, username, answered = row
    if dashboard and username is not None and not answered:
        raise Forbidden(SECURITY_QUESTIONS_FIRST)
    return PatientPrincipal(account_id, full_name(first_name, last_name), session_id, username)


def current_patient(state: State, credentials: _PatientBearer) -> PatientPrincipal:
    return _signed_in_patient(state, credentials, dashboard=False)


CurrentPatient = Annotated[PatientPrincipal, Depends(current_patient)]


def dashboard_patient(state: State, credentials: _PatientBearer) -> PatientPrincipal:
    """A patient who may use the dashboard: a username account has set its security questions.

    The app leads a new username account to the questions first; the portal holds the same line
    for any other client.
    """
    return _signed_in_patient(state, credentials, dashboard=True)


DashboardPatient = Annotated[PatientPrincipal, Depends(dashboard_patient)]


# --------------------------------------------------------------------------- idempotent writes

_KEY_DESCRIPTION = (
    "Unique value per logical call (e.g. a UUID), reused unchanged on every retry. The first "
    "successful response is stored and replayed (with `Idempotency-Replayed: true`)."
)

RequiredKey = Annotated[
    str | None,
    Header(alias=idempotency.HEADER, description="**Required.** " + _KEY_DESCRIPTION),
]
OptionalKey = Annotated[
    str | None, Header(alias=idempotency.HEADER, description="Optional. " + _KEY_DESCRIPTION)
]


@dataclass(frozen=True)
class Writer:
    """Runs one mutating call in a transaction, once per idempotency key when one is given."""

    db: Database
    scope: str
    key: str | None
    method: str
    path: str

    def check(self, session: Session) -> None:
        """What must hold inside the write's own transaction, before anything else (none
        here); an error it raises rolls the write back."""

    def run(self, body: BaseModel | None, apply: Callable[[Session], Outcome]) -> Response:
        call = None
        if self.key is not None:
            call = IdempotentCall(
                scope=self.scope,
                key=self.key,
                method=self.method,
                path=self.path,
                request_hash=idempotency.request_hash(body),
            )
        return idempotency.execute(self.db, call, apply, self.check)


@dataclass(frozen=True)
class StaffWriter(Writer):
    staff: StaffPrincipal


@dataclass(frozen=True)
class PatientWriter(Writer):
    """A patient's write. The session (and the dashboard rule) is checked as the first
    statement of the write's transaction, not in a read of its own: one connection and one
    thread-pool hop per call instead of two."""

    account_id: str
    session_id: str
    _checked: list[PatientPrincipal] = field(default_factory=list, compare=False, repr=False)

    @property
    def patient(self) -> PatientPrincipal:
        """The signed-in patient, once :meth:`run` has checked the session."""
        if not self._checked:
            raise RuntimeError("the patient is known once the write runs")
        return self._checked[-1]

    def check(self, session: Session) -> None:
        patient = _patient_session(session, self.account_id, self.session_id, dashboard=True)
        self._checked[:] = [patient]


def staff_writer(*roles: Role) -> Callable[..., Awaitable[StaffWriter]]:
    """A dependency: the caller must hold one of ``roles`` and send an Idempotency-Key."""
    role_check = require_roles(*roles)

    async def dependency(
        request: Request,
        state: State,
        staff: Annotated[StaffPrincipal, Depends(role_check)],
        key: RequiredKey = None,
    ) -> StaffWriter:
        checked = idempotency.check_key(key, required=True)
        return StaffWriter(state.db, staff.scope, checked, request.method, request.url.path, staff)

    return dependency


async def patient_writer(
    request: Request, state: State, credentials: _PatientBearer, key: OptionalKey = None
) -> PatientWriter:
    """A patient's write: the token is checked here, the session when the write runs."""
    claims = _claims(state, credentials, PATIENT_TOKEN)
    checked = idempotency.check_key(key, required=False)
    account_id = str(claims["sub"])
    return PatientWriter(
        state.db,
        PatientPrincipal(account_id, "").scope,
        checked,
        request.method,
        request.url.path,
        account_id,
        str(claims.get("sid", "")),
    )
