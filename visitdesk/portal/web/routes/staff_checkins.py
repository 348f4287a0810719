"""The desk's side of check-ins: status changes, desk check-ins and walk-ins, no-shows, and the
practice's check-in settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import (
    CHECK_IN_AT_DESK,
    MARK_NO_SHOW,
    READ_CHECKIN_SETTINGS,
    SET_CHECKIN_STATUS,
    WRITE_CHECKIN_SETTINGS,
)
from visitdesk.api.wire import CheckInStatus, CheckInStatusUpdate, ErrorBody, Role
from visitdesk.api.wire_checkins import DESK_ID_PATTERN, CheckInSettings, DeskCheckInCreate
from visitdesk.portal.checkins import arrivals, desk, rules
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    CurrentStaff,
    StaffWriter,
    State,
    staff_writer,
)
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff check-ins"])

Desk = Annotated[StaffWriter, Depends(staff_writer(Role.FRONT_DESK, Role.MANAGER))]
Manager = Annotated[StaffWriter, Depends(staff_writer(Role.MANAGER))]
Id = Annotated[str, Path(max_length=64)]

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
}


@staff_route(router, SET_CHECKIN_STATUS, responses=_ERRORS)
def set_checkin_status(checkin_id: Id, body: CheckInStatusUpdate, writer: Desk) -> Response:
    """Acknowledge, room, finish or cancel a check-in; records who did it and when. A change
    that would move the visit backwards (acknowledge a roomed patient) leaves it as it is."""

    def apply(session: Session) -> Outcome:
        out = arrivals.set_status(
            session,
            writer.staff.practice_id,
            checkin_id,
            CheckInStatus(body.status),
            writer.staff.staff_id,
            writer.staff.name,
            writer.staff.workstation,
        )
        return Outcome(200, out)

    return writer.run(body, apply)


@staff_route(
    router,
    CHECK_IN_AT_DESK,
    status_code=201,
    responses={
        **_ERRORS,
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
def check_in_at_desk(
    checkin_id: Annotated[str, Path(pattern=DESK_ID_PATTERN, max_length=36)],
    body: DeskCheckInCreate,
    writer: Desk,
) -> Response:
    """Check a patient in at the desk, for today's appointment or as a walk-in. A patient already
    checked in today (by the app, or by another desk) is answered with that check-in (200)."""

    def apply(session: Session) -> Outcome:
        result = desk.check_in_at_desk(
            session,
            writer.staff.practice_id,
            checkin_id,
            body.patient_id,
            body.appointment_id,
            writer.staff.actor,
        )
        return Outcome(201 if result.created else 200, result.checkin)

    return writer.run(body, apply)


@staff_route(
    router,
    MARK_NO_SHOW,
    responses={**_ERRORS, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def mark_no_show(appointment_id: Id, writer: Desk) -> Response:
    """Mark a patient who never arrived a no-show (only after the grace period; never one who
    checked in)."""

    def apply(session: Session) -> Outcome:
        out = desk.mark_no_show(
            session, writer.staff.practice_id, appointment_id, writer.staff.actor
        )
        return Outcome(200, out)

    return writer.run(None, apply)


@staff_route(router, READ_CHECKIN_SETTINGS, responses={401: {"model": ErrorBody}})
def read_checkin_settings(staff: CurrentStaff, state: State) -> CheckInSettings:
    """The practice's arrival window, no-show grace and waiting thresholds."""
    with state.db.read() as session:
        return rules.read_settings(session, staff.practice_id)


@staff_route(router, WRITE_CHECKIN_SETTINGS, responses=_ERRORS)
def write_checkin_settings(body: CheckInSettings, writer: Manager) -> Response:
    """Change the check-in rules; every desk receives them through the change feed."""

    def apply(session: Session) -> Outcome:
        rules.write_settings(session, writer.staff.practice_id, body)
        audit.record(
            session,
            writer.staff.practice_id,
            writer.staff.actor,
            "settings.checkin_desk",
            "practice",
            writer.staff.practice_id,
            details=body.model_dump(),
        )
        return Outcome(200, body)

    return writer.run(body, apply)
