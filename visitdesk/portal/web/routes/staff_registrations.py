"""The desk's registration queue: match a pending registration to a record, or reject it.

Front desk and managers. Ids are checked against the caller's practice (404); a registration
already decided or cancelled answers 409. The patient is told once, after the decision commits
(a repeat of the same Idempotency-Key replays the answer without telling them again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import MATCH_REGISTRATION, REJECT_REGISTRATION
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_registration import (
    RegistrationMatch,
    RegistrationOut,
    RegistrationReject,
)
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.registrations import registration_queue
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import PortalState, StaffWriter, State, staff_writer
from visitdesk.portal.web.notify import Notice, send_notice
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff registration queue"])

Desk = Annotated[StaffWriter, Depends(staff_writer(Role.FRONT_DESK, Role.MANAGER))]
RegistrationId = Annotated[str, Path(max_length=64)]

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


def _actor(writer: StaffWriter) -> audit.Actor:
    return writer.staff.actor


@staff_route(router, MATCH_REGISTRATION, responses=_ERRORS)
def match_registration(
    registration_id: RegistrationId, body: RegistrationMatch, writer: Desk, state: State
) -> Response:
    """Connect the registering account to this patient record (relationship "self")."""
    return _decide(registration_queue.match, registration_id, body, writer, state)


@staff_route(router, REJECT_REGISTRATION, responses=_ERRORS)
def reject_registration(
    registration_id: RegistrationId, body: RegistrationReject, writer: Desk, state: State
) -> Response:
    """Turn the registration down; the patient is told the reason in plain words."""
    return _decide(registration_queue.reject, registration_id, body, writer, state)


def _decide(
    decide: Callable[..., tuple[RegistrationOut, Notice | None]],
    registration_id: str,
    body: RegistrationMatch | RegistrationReject,
    writer: StaffWriter,
    state: PortalState,
) -> Response:
    """Record the decision (replayed as is for a repeated key); tell the patient after commit."""
    notices: list[Notice | None] = []

    def apply(session: Session) -> Outcome:
        out, notice = decide(
            session, writer.staff.practice_id, _actor(writer), registration_id, body
        )
        notices.append(notice)
        return Outcome(200, out)

    response = writer.run(body, apply)
    for notice in notices:
        send_notice(state.messenger, notice)
    return response
