"""FastAPI dependencies: app state, authentication, roles and idempotent writes."""

# No ``from __future__ import annotations`` here: FastAPI resolves dependency annotations at
# runtime, and the factories below annotate with local variables (``Depends(role_check)``).

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.wire import Role
from visitdesk.portal.accounts.patient_side import PATIENT_TOKEN, display_name
from visitdesk.portal.accounts.sessions import STAFF_TOKEN
from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.persistence import idempotency
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import ChangeNotifier
from visitdesk.portal.persistence.idempotency import IdempotentCall, Outcome
from visitdesk.portal.persistence.models import PatientAccount, StaffSession, StaffUser
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


def get_state(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


State = Annotated[PortalState, Depends(get_state)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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


@dataclass(frozen=True)
class StaffPrincipal:
    staff_id: str
    practice_id: str
    session_id: str
    role: Role
    name: str

    @property
    def scope(self) -> str:
        return f"staff:{self.practice_id}"


def current_staff(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)],
) -> StaffPrincipal:
    claims = _claims(state, credentials, STAFF_TOKEN)
    staff_id, session_id = str(claims["sub"]), str(claims.get("sid", ""))
    with state.db.read() as session:
        row = session.execute(
            select(StaffUser.name, StaffUser.role, StaffUser.practice_id)
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
    return StaffPrincipal(staff_id, row.practice_id, session_id, Role(row.role), row.name)


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]


def require_roles(*roles: Role) -> Callable[[StaffPrincipal], StaffPrincipal]:
    allowed = frozenset(roles)

    def check(staff: CurrentStaff) -> StaffPrincipal:
        if staff.role not in allowed:
            raise Forbidden("Your role does not allow this action.")
        return staff

    return check


@dataclass(frozen=True)
class PatientPrincipal:
    account_id: str
    display_name: str

    @property
    def scope(self) -> str:
        return f"patient:{self.account_id}"


def current_patient(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_patient_bearer)],
) -> PatientPrincipal:
    claims = _claims(state, credentials, PATIENT_TOKEN)
    with state.db.read() as session:
        account = session.scalar(
            select(PatientAccount).where(
                PatientAccount.id == str(claims["sub"]), PatientAccount.active.is_(True)
            )
        )
    if account is None:
        raise Unauthorized("This account is not active; please sign in again.")
    return PatientPrincipal(account.id, display_name(account))


CurrentPatient = Annotated[PatientPrincipal, Depends(current_patient)]


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
        return idempotency.execute(self.db, call, apply)


@dataclass(frozen=True)
class StaffWriter(Writer):
    staff: StaffPrincipal


@dataclass(frozen=True)
class PatientWriter(Writer):
    patient: PatientPrincipal


def staff_writer(*roles: Role) -> Callable[..., StaffWriter]:
    """A dependency: the caller must hold one of ``roles`` and send an Idempotency-Key."""
    role_check = require_roles(*roles)

    def dependency(
        request: Request,
        state: State,
        staff: Annotated[StaffPrincipal, Depends(role_check)],
        key: RequiredKey = None,
    ) -> StaffWriter:
        checked = idempotency.check_key(key, required=True)
        return StaffWriter(state.db, staff.scope, checked, request.method, request.url.path, staff)

    return dependency


def patient_writer(
    request: Request, state: State, patient: CurrentPatient, key: OptionalKey = None
) -> PatientWriter:
    checked = idempotency.check_key(key, required=False)
    return PatientWriter(
        state.db, patient.scope, checked, request.method, request.url.path, patient
    )
