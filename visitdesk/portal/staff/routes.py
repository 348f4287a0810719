"""Staff routes of staff accounts (office managers only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import (
    ADD_STAFF,
    DISABLE_STAFF,
    ENABLE_STAFF,
    LIST_STAFF,
    SET_STAFF_ROLE,
)
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_staff import StaffCreate, StaffCreated, StaffMember, StaffRoleChange
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.staff import accounts
from visitdesk.portal.staff.accounts import one_time_password
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    StaffPrincipal,
    StaffWriter,
    State,
    require_roles,
    staff_writer,
)
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff accounts"])

Manager = Annotated[StaffWriter, Depends(staff_writer(Role.MANAGER))]
ManagerReader = Annotated[StaffPrincipal, Depends(require_roles(Role.MANAGER))]
StaffId = Annotated[str, Path(max_length=64)]


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in codes}


@staff_route(router, LIST_STAFF, responses=_errors(401, 403))
def list_staff(staff: ManagerReader, state: State) -> list[StaffMember]:
    """The practice's staff, active first, with each one's last sign-in."""
    with state.db.read() as session:
        return accounts.list_staff(session, staff.practice_id)


@staff_route(router, ADD_STAFF, status_code=201, responses=_errors(401, 403, 409, 422))
def add_staff(body: StaffCreate, state: State, manager: ManagerReader) -> StaffCreated:
    """Add a staff member with a one-time password (in this answer only, never stored). Not
    replayable by Idempotency-Key: the answer holds a password; a repeat finds the username
    taken (409)."""
    password = one_time_password()
    password_hash = state.security.passwords.hash(password)
    with state.db.write() as session:
        member = accounts.create(session, manager.practice_id, manager.actor, body, password_hash)
    return StaffCreated(staff=member, one_time_password=password)


@staff_route(
    router,
    SET_STAFF_ROLE,
    responses=_errors(400, 401, 403, 404, 409, 422),
)
def change_role(staff_id: StaffId, body: StaffRoleChange, writer: Manager) -> Response:
    """Set a staff member's role; refused (409) if it would leave no active manager."""

    def apply(session: Session) -> Outcome:
        member = accounts.set_role(
            session, writer.staff.practice_id, writer.staff.actor, staff_id, body.role
        )
        return Outcome(200, member)

    return writer.run(body, apply)


@staff_route(
    router,
    DISABLE_STAFF,
    responses=_errors(400, 401, 403, 404, 409, 422),
)
def disable_staff(staff_id: StaffId, writer: Manager) -> Response:
    """Disable a staff member: their sessions end now; refused (409) for the last manager."""

    def apply(session: Session) -> Outcome:
        member = accounts.set_active(
            session, writer.staff.practice_id, writer.staff.actor, staff_id, False
        )
        return Outcome(200, member)

    return writer.run(None, apply)


@staff_route(
    router,
    ENABLE_STAFF,
    responses=_errors(400, 401, 403, 404, 422),
)
def enable_staff(staff_id: StaffId, writer: Manager) -> Response:
    def apply(session: Session) -> Outcome:
        member = accounts.set_active(
            session, writer.staff.practice_id, writer.staff.actor, staff_id, True
        )
        return Outcome(200, member)

    return writer.run(None, apply)
