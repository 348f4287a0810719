"""The desk's security codes: issue, list, revoke, reissue (front desk and managers).

Issuing answers with the full code once. The idempotency record of an issue or reissue call keeps
no code: a repeat of the same Idempotency-Key is answered 409 (CodeAlreadyIssued) naming the
code that was issued, and the desk reissues it if the first answer was lost.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import (
    ISSUE_SECURITY_CODE,
    LIST_SECURITY_CODES,
    REISSUE_SECURITY_CODE,
    REVOKE_SECURITY_CODE,
)
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_registration import (
    CodeAlreadyIssued,
    SecurityCodeCreate,
    SecurityCodeIssued,
    SecurityCodeOut,
    SecurityCodeStatus,
)
from visitdesk.portal.codes import security_codes
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.persistence.models import Patient
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    StaffPrincipal,
    StaffWriter,
    State,
    require_roles,
    staff_writer,
)
from visitdesk.portal.web.errors import NotFound
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff security codes"])

_DESK_ROLES = (Role.FRONT_DESK, Role.MANAGER)
Desk = Annotated[StaffWriter, Depends(staff_writer(*_DESK_ROLES))]
DeskReader = Annotated[StaffPrincipal, Depends(require_roles(*_DESK_ROLES))]
CodeId = Annotated[str, Path(max_length=64)]

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
}
_ISSUE_ERRORS: dict[int | str, dict[str, object]] = {
    **_ERRORS,
    409: {
        "model": CodeAlreadyIssued,
        "description": "Repeat of an Idempotency-Key: the code was issued but is not kept; "
        "reissue it.",
    },
    422: {"model": ErrorBody},
}
_REPLAY_DETAIL = (
    "This code was already issued and its full value is not kept, so it cannot be shown again. "
    "Reissue it to get a new code for the patient."
)


def _actor(writer: StaffWriter) -> audit.Actor:
    return writer.staff.actor


def _issued(issued: SecurityCodeIssued) -> Outcome:
    replay = CodeAlreadyIssued(detail=_REPLAY_DETAIL, security_code_id=issued.security_code.id)
    return Outcome(201, issued, replay=Outcome(409, replay))


@staff_route(router, ISSUE_SECURITY_CODE, status_code=201, responses=_ISSUE_ERRORS)
def issue_security_code(body: SecurityCodeCreate, writer: Desk, state: State) -> Response:
    """Issue a code for a patient to register with ("register") or to link to an account ("link").

    The full code is in this response only; afterwards the list shows its hint.
    """

    def apply(session: Session) -> Outcome:
        return _issued(
            security_codes.issue(
                session, state.codes, state.config, writer.staff.practice_id, _actor(writer), body
            )
        )

    return writer.run(body, apply)


@staff_route(
    router,
    LIST_SECURITY_CODES,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
def list_security_codes(
    staff: DeskReader,
    state: State,
    patient_id: Annotated[str | None, Query(max_length=64)] = None,
    status: SecurityCodeStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=security_codes.MAX_LIST)] = security_codes.MAX_LIST,
) -> list[SecurityCodeOut]:
    """The practice's codes, newest first, optionally for one patient and/or in one status."""
    with state.db.read() as session:
        if patient_id is not None:
            patient = session.get(Patient, patient_id)
            if patient is None or patient.practice_id != staff.practice_id:
                raise NotFound("No such patient in this practice.")
        return security_codes.list_codes(
            session, staff.practice_id, patient_id=patient_id, status=status, limit=limit
        )


@staff_route(router, REVOKE_SECURITY_CODE, responses={**_ERRORS, 409: {"model": ErrorBody}})
def revoke_security_code(code_id: CodeId, writer: Desk) -> Response:
    """Revoke a code so it can no longer be used. Revoking a used code leaves the link it made
    in place and puts that link on the managers' "Needs review" list."""

    def apply(session: Session) -> Outcome:
        out = security_codes.revoke(session, writer.staff.practice_id, _actor(writer), code_id)
        return Outcome(200, out)

    return writer.run(None, apply)


@staff_route(router, REISSUE_SECURITY_CODE, status_code=201, responses=_ISSUE_ERRORS)
def reissue_security_code(code_id: CodeId, writer: Desk, state: State) -> Response:
    """Revoke a code and issue a new one for the same patient, purpose and relationship."""

    def apply(session: Session) -> Outcome:
        return _issued(
            security_codes.reissue(
                session,
                state.codes,
                state.config,
                writer.staff.practice_id,
                _actor(writer),
                code_id,
            )
        )

    return writer.run(None, apply)
