"""Staff passwords: a staff member changes their own; a manager resets another's.

A reset gives a one-time password the manager reads out once. It ends the user's sessions, and a
sign-in with it answers ``password_change_required``: that session can do nothing but choose a
new password (every other staff call answers 403 until then).
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from visitdesk.api.wire_accounts import StaffPasswordChange, StaffPasswordReset
from visitdesk.portal.accounts.account_rules import password_problem
from visitdesk.portal.accounts.sessions import revoke_session
from visitdesk.portal.persistence import audit, throttle
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import staff_changed
from visitdesk.portal.persistence.models import StaffSession, StaffUser
from visitdesk.portal.staff.accounts import one_time_password
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import NotFound, Unprocessable
from visitdesk.portal.web.security import Security

log = logging.getLogger(__name__)

CURRENT_MISMATCH = "The current password is not correct."


def change_own(
    db: Database,
    security: Security,
    config: PortalConfig,
    staff_id: str,
    session_id: str,
    body: StaffPasswordChange,
) -> None:
    """Change the password; every other session of the user ends (this one stays signed in).

    A wrong current password is 422, not 401: the session itself is fine, and a desk reads 401
    as "this session has ended". Wrong guesses count like failed sign-ins, so a borrowed session
    (an unlocked workstation) cannot be used to find the password by trying.
    """
    guesses = throttle.throttle_key("staff-password-change", staff_id, "")
    with db.read() as session:
        throttle.raise_if_locked(session, guesses, what="wrong current passwords")
        staff = session.get_one(StaffUser, staff_id)
    if not security.passwords.verify(staff.password_hash, body.current_password):
        throttle.record_failure(db, config, guesses)
        raise Unprocessable(CURRENT_MISMATCH)
    if body.new_password == body.current_password:
        raise Unprocessable("Choose a password different from the current one.")
    problem = password_problem(body.new_password, username=staff.username, email=None)
    if problem is not None:
        raise Unprocessable(problem)
    new_hash = security.passwords.hash(body.new_password)
    with db.write() as session:
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == staff_id)
            .values(password_hash=new_hash, must_change_password=False)
        )
        staff_changed(session)  # the feed may remember "must change first" for this session
        others = session.scalars(
            select(StaffSession.id).where(
                StaffSession.staff_id == staff_id,
                StaffSession.id != session_id,
                StaffSession.revoked_at.is_(None),
            )
        ).all()
        for other in others:
            revoke_session(session, other, "password changed")
        throttle.clear(session, guesses)
        audit.record(
            session,
            staff.practice_id,
            audit.Actor("staff", staff.id, staff.name),
            "staff.password_changed",
            "staff",
            staff.id,
        )
    log.info("staff %s changed their password", staff_id)


def reset_other(
    db: Database, security: Security, manager: audit.Actor, practice_id: str, staff_id: str
) -> StaffPasswordReset:
    if staff_id == manager.id:
        raise Unprocessable("Change your own password with your current one instead.")
    with db.read() as session:
        target = session.scalar(
            select(StaffUser).where(StaffUser.id == staff_id, StaffUser.practice_id == practice_id)
        )
    if target is None:
        raise NotFound("No such staff member in this practice.")
    password = one_time_password()
    new_hash = security.passwords.hash(password)
    with db.write() as session:
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == staff_id)
            .values(password_hash=new_hash, must_change_password=True)
        )
        for open_session in session.scalars(
            select(StaffSession.id).where(
                StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None)
            )
        ).all():
            revoke_session(session, open_session, "password reset")
        audit.record(session, practice_id, manager, "staff.password_reset", "staff", staff_id)
    log.info("staff %s password reset by a manager", staff_id)
    return StaffPasswordReset(staff_id=staff_id, one_time_password=password)
