"""Staff sessions the web layer reads and ends: which practice a refresh token belongs to, and
sign-out. Both work inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import staff_changed
from visitdesk.portal.persistence.models import StaffRefreshToken, StaffSession, StaffUser
from visitdesk.portal.web.security import hash_token

STAFF_TOKEN = "staff"  # noqa: S105  (token type claim)


def practice_of_refresh_token(session: Session, token: str) -> tuple[str, str, str] | None:
    """(practice id, staff id, session id) the token belongs to, or None when it is unknown."""
    row = session.execute(
        select(StaffSession.practice_id, StaffSession.staff_id, StaffSession.id)
        .join(StaffRefreshToken, StaffRefreshToken.session_id == StaffSession.id)
        .where(StaffRefreshToken.token_hash == hash_token(token))
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


def revoke_session(session: Session, session_id: str, reason: str) -> None:
    ended = session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
        .returning(StaffSession.staff_id, StaffSession.practice_id)
    ).first()
    if ended is not None:
        staff_changed(session)
        staff = session.get(StaffUser, ended.staff_id)
        audit.record(
            session,
            ended.practice_id,
            audit.Actor("staff", ended.staff_id, staff.name if staff is not None else ""),
            "staff.signed_out" if reason == "signed out" else "staff.session_ended",
            "staff_session",
            session_id,
            details={"reason": reason},
        )
