"""The desk's side of check-ins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import SET_CHECKIN_STATUS
from visitdesk.api.wire import CheckInStatus, CheckInStatusUpdate, ErrorBody, Role
from visitdesk.portal.checkins import arrivals
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import StaffWriter, staff_writer
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff check-ins"])

Desk = Annotated[StaffWriter, Depends(staff_writer(Role.FRONT_DESK, Role.MANAGER))]


@staff_route(
    router,
    SET_CHECKIN_STATUS,
    responses={
        400: {"model": ErrorBody},
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
    },
)
def set_checkin_status(
    checkin_id: Annotated[str, Path(max_length=64)], body: CheckInStatusUpdate, writer: Desk
) -> Response:
    """Acknowledge, room or cancel a check-in; records who did it and when."""

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
