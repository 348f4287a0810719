"""Adding staff, changing roles, disabling and enabling, under the last-manager rule.

Every change locks the practice's row first, so two managers demoting each other at the same
moment cannot both succeed and leave the practice without one (PostgreSQL row lock; SQLite
serialises writers already).
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitdesk.api.wire import Role
from visitdesk.api.wire_staff import StaffCreate, StaffMember
from visitdesk.portal.accounts.sessions import revoke_session
from visitdesk.portal.codes.hashing import ALPHABET
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.feed import staff_changed
from visitdesk.portal.persistence.models import Practice, StaffSession, StaffUser
from visitdesk.portal.web.errors import Conflict, NotFound, Unprocessable

log = logging.getLogger(__name__)

LAST_MANAGER = (
    "A practice needs at least one active office manager: make someone else a manager first."
)


def one_time_password() -> str:
    """Sixteen characters of the security-code alphabet (no 0/O, 1/I/L), about 79 bits, in
    groups of four to read out."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(4))


def staff_member(row: StaffUser, last_sign_in: object = None) -> StaffMember:
    return StaffMember(
        id=row.id,
        username=row.username,
        name=row.name,
        role=Role(row.role),
        active=row.active,
        created_at=row.created_at,
        last_sign_in_at=last_sign_in,  # type: ignore[arg-type]
    )


def list_staff(session: Session, practice_id: str) -> list[StaffMember]:
    last_sign_in = (
        select(StaffSession.staff_id, func.max(StaffSession.created_at).label("at"))
        .where(StaffSession.practice_id == practice_id)
        .group_by(StaffSession.staff_id)
        .subquery()
    )
    rows = session.execute(
        select(StaffUser, last_sign_in.c.at)
        .outerjoin(last_sign_in, last_sign_in.c.staff_id == StaffUser.id)
        .where(StaffUser.practice_id == practice_id)
        .order_by(StaffUser.active.desc(), StaffUser.name)
    ).all()
    return [staff_member(row, at) for row, at in rows]


def _lock_practice(session: Session, practice_id: str) -> None:
    session.get(Practice, practice_id, with_for_update=True)


def _target(session: Session, practice_id: str, staff_id: str) -> StaffUser:
    row = session.get(StaffUser, staff_id)
    if row is None or row.practice_id != practice_id:
        raise NotFound("No such staff member in this practice.")
    return row


def _other_active_managers(session: Session, practice_id: str, staff_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(
                StaffUser.practice_id == practice_id,
                StaffUser.role == Role.MANAGER.value,
                StaffUser.active.is_(True),
                StaffUser.id != staff_id,
            )
        )
        or 0
    )


def create(
    session: Session, practice_id: str, actor: audit.Actor, body: StaffCreate, password_hash: str
) -> StaffMember:
    _lock_practice(session, practice_id)
    username = body.username.casefold()
    taken = session.scalar(
        select(StaffUser.id).where(
            StaffUser.practice_id == practice_id, StaffUser.username == username
        )
    )
    if taken is not None:
        raise Conflict("That username is taken in this practice; choose another.")
    row = StaffUser(
        practice_id=practice_id,
        username=username,
        name=body.name,
        role=body.role.value,
        password_hash=password_hash,
        # A one-time password: the portal allows nothing but changing it at first sign-in.
        must_change_password=True,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        practice_id,
        actor,
        "staff.created",
        "staff",
        row.id,
        details={"role": body.role.value},
    )
    log.info("staff %s added", row.id)
    return staff_member(row)


def set_role(
    session: Session, practice_id: str, actor: audit.Actor, staff_id: str, role: Role
) -> StaffMember:
    _lock_practice(session, practice_id)
    row = _target(session, practice_id, staff_id)
    if row.role == role.value:
        return staff_member(row)
    if (
        row.role == Role.MANAGER.value
        and row.active
        and _other_active_managers(session, practice_id, row.id) == 0
    ):
        raise Conflict(LAST_MANAGER)
    before = row.role
    row.role = role.value
    session.flush()
    staff_changed(session)
    audit.record(
        session,
        practice_id,
        actor,
        "staff.role_changed",
        "staff",
        row.id,
        details={"from": before, "to": role.value},
    )
    return staff_member(row)


def set_active(
    session: Session, practice_id: str, actor: audit.Actor, staff_id: str, active: bool
) -> StaffMember:
    """Disable (every session of theirs ends now, so their tokens are refused) or enable."""
    _lock_practice(session, practice_id)
    row = _target(session, practice_id, staff_id)
    if row.active == active:
        return staff_member(row)
    if not active:
        if row.id == actor.id:
            raise Unprocessable("You cannot disable your own account.")
        if (
            row.role == Role.MANAGER.value
            and _other_active_managers(session, practice_id, row.id) == 0
        ):
            raise Conflict(LAST_MANAGER)
        for session_id in session.scalars(
            select(StaffSession.id).where(
                StaffSession.staff_id == row.id, StaffSession.revoked_at.is_(None)
            )
        ).all():
            revoke_session(session, session_id, "account disabled")
    row.active = active
    session.flush()
    audit.record(
        session,
        practice_id,
        actor,
        "staff.enabled" if active else "staff.disabled",
        "staff",
        row.id,
    )
    return staff_member(row)
