"""Staff routes of staff accounts (office managers only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.portal.deps import StaffPrincipal, StaffWriter, State, require_roles, staff_writer
from visitdesk.portal.idempotency import Outcome
from visitdesk.portal.staff import accounts
from visitdesk.portal.staff.accounts import one_time_password
from visitdesk.sync.wire import ErrorBody, Role
from visitdesk.sync.wire_staff import StaffCreate, StaffCreated, StaffMember, StaffRoleChange

router = APIRouter(tags=["staff accounts"])

Manager = Annotated[StaffWriter, Depends(staff_writer(Role.MANAGER))]
ManagerReader = Annotated[StaffPrincipal, Depends(require_roles(Role.MANAGER))]
StaffId = Annotated[str, Path(max_length=64)]


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in codes}


@router.get("/staff", response_model=list[StaffMember], responses=_errors(401, 403))
def list_staff(staff: ManagerReader, state: State) -> list[StaffMember]:
    """The practice's staff, active first, with each one's last sign-in."""
    with state.db.read() as session:
        return accounts.list_staff(session, staff.practice_id)


@router.post(
    "/staff", status_code=201, response_model=StaffCreated, responses=_errors(401, 403, 409, 422)
)
def add_staff(body: StaffCreate, state: State, manager: ManagerReader) -> StaffCreated:
    """Add a staff member with a one-time password (in this answer only, never stored). Not
    replayable by Idempotency-Key: the answer holds a password; a repeat finds the username
    taken (409)."""
    password = one_time_password()
    password_hash = state.security.passwords.hash(password)
    with state.db.write() as session:
        member = accounts.create(session, manager.practice_id, manager.actor, body, password_hash)
    return StaffCreated(staff=member, one_time_password=password)


@router.post(
    "/staff/{staff_id}/role",
    response_model=StaffMember,
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


@router.post(
    "/staff/{staff_id}/disable",
    response_model=StaffMember,
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


@router.post(
    "/staff/{staff_id}/enable",
    response_model=StaffMember,
    responses=_errors(400, 401, 403, 404, 422),
)
def enable_staff(staff_id: StaffId, writer: Manager) -> Response:
    def apply(session: Session) -> Outcome:
        member = accounts.set_active(
            session, writer.staff.practice_id, writer.staff.actor, staff_id, True
        )
        return Outcome(200, member)

    return writer.run(None, apply)
