"""Signing in: staff sign-in and refresh-token rotation with reuse detection, and patient sign-in.

Flows (see `visitdesk.portal`): a failed password is recorded in its own committed transaction
although the request fails, and the slow password check runs outside any write transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from visitdesk.api.wire import (
    PatientSession,
    PatientSignIn,
    PracticeInfo,
    Role,
    SessionCreate,
    SessionTokens,
    StaffInfo,
)
from visitdesk.portal.accounts.patient_side import display_name, open_session
from visitdesk.portal.accounts.sessions import STAFF_TOKEN
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.models import (
    PatientAccount,
    Practice,
    StaffRefreshToken,
    StaffSession,
    StaffUser,
)
from visitdesk.portal.persistence.throttle import (
    SignInKeys,
    clear_sign_in,
    raise_if_sign_in_locked,
    record_sign_in_failure,
)
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import Unauthorized
from visitdesk.portal.web.security import Security, hash_token, new_refresh_token

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Incorrect practice, username or password."
PATIENT_WRONG_CREDENTIALS = "Incorrect login or password."
BAD_REFRESH = "This session is no longer valid; please sign in again."


@dataclass(frozen=True)
class _StaffLogin:
    staff_id: str
    practice_id: str
    password_hash: str


def staff_sign_in(
    db: Database,
    security: Security,
    config: PortalConfig,
    body: SessionCreate,
    client: str,
    workstation: str = "",
) -> SessionTokens:
    security.passwords.gate.refuse_if_full()
    keys = SignInKeys.of("staff", f"{body.practice}\x00{body.username}", client)
    with db.read() as session:
        raise_if_sign_in_locked(session, keys)
        row = session.execute(
            select(StaffUser.id, StaffUser.practice_id, StaffUser.password_hash)
            .join(Practice, Practice.id == StaffUser.practice_id)
            .where(
                Practice.code == body.practice.casefold(),
                StaffUser.username == body.username.casefold(),
                StaffUser.active.is_(True),
            )
        ).first()
    login = _StaffLogin(*row) if row is not None else None
    # Hashing happens outside any transaction: it is slow on purpose and must not hold locks.
    if not security.passwords.verify(login.password_hash if login else None, body.password):
        record_sign_in_failure(db, config, keys)
        log.info("staff sign-in failed")
        raise Unauthorized(WRONG_CREDENTIALS)
    assert login is not None
    new_hash = (
        security.passwords.hash(body.password)
        if security.passwords.needs_rehash(login.password_hash)
        else None
    )
    with db.write() as session:
        clear_sign_in(session, keys)
        if new_hash is not None:
            session.execute(
                update(StaffUser)
                .where(StaffUser.id == login.staff_id)
                .values(password_hash=new_hash)
            )
        family = StaffSession(staff_id=login.staff_id, practice_id=login.practice_id)
        session.add(family)
        session.flush()
        tokens = _issue(session, security, config, family)
        audit.record(
            session,
            login.practice_id,
            audit.Actor("staff", login.staff_id, tokens.staff.name, workstation),
            "staff.signed_in",
            "staff_session",
            family.id,
        )
    log.info("staff sign-in: staff %s session %s", login.staff_id, family.id)
    return tokens


def _issue(
    session: Session,
    security: Security,
    config: PortalConfig,
    family: StaffSession,
    replaces: StaffRefreshToken | None = None,
) -> SessionTokens:
    staff = session.get_one(StaffUser, family.staff_id)
    practice = session.get_one(Practice, family.practice_id)
    refresh = new_refresh_token()
    now = utcnow()
    token_row = StaffRefreshToken(
        session_id=family.id,
        token_hash=hash_token(refresh),
        created_at=now,
        expires_at=now + config.refresh_token_ttl,
    )
    session.add(token_row)
    if replaces is not None:
        session.flush()
        replaces.replaced_by = token_row.id
    ttl = int(config.access_token_ttl.total_seconds())
    access = security.tokens.issue(
        STAFF_TOKEN, staff.id, ttl, pid=practice.id, role=staff.role, sid=family.id
    )
    return SessionTokens(
        access_token=access,
        refresh_token=refresh,
        expires_in=ttl,
        staff=StaffInfo(id=staff.id, name=staff.name, role=Role(staff.role)),
        practice=PracticeInfo(
            id=practice.id,
            code=practice.code,
            name=practice.name,
            phone=practice.phone,
            timezone=practice.timezone,
        ),
        password_change_required=staff.must_change_password,
    )


def refresh(db: Database, security: Security, config: PortalConfig, token: str) -> SessionTokens:
    """Rotate a refresh token. Presenting an already-rotated token ends the whole session, with
    one exception: a lost answer (see `_retry_after_lost_answer`)."""
    now = utcnow()
    reuse_of: str | None = None
    with db.write() as session:
        row = session.scalar(
            select(StaffRefreshToken).where(StaffRefreshToken.token_hash == hash_token(token))
        )
        family = session.get(StaffSession, row.session_id) if row is not None else None
        if row is None or family is None or family.revoked_at is not None:
            raise Unauthorized(BAD_REFRESH)
        staff = session.get(StaffUser, family.staff_id)
        if row.used_at is None and row.expires_at <= now:
            raise Unauthorized("This session has expired; please sign in again.")
        if staff is None or not staff.active:
            family.revoked_at, family.revoke_reason = now, "staff inactive"
        else:
            # Conditional update: of two concurrent refreshes with one token, only one wins.
            claimed = session.execute(
                update(StaffRefreshToken)
                .where(StaffRefreshToken.id == row.id, StaffRefreshToken.used_at.is_(None))
                .values(used_at=now)
                .returning(StaffRefreshToken.id)
            ).scalar_one_or_none()
            if claimed is not None:
                return _issue(session, security, config, family, replaces=row)
            session.refresh(row)
            if _retry_after_lost_answer(session, config, row, now):
                log.info("refresh token presented again after a lost answer; session %s", family.id)
                return _issue(session, security, config, family, replaces=row)
            family.revoked_at, family.revoke_reason = now, "refresh token reuse"
            reuse_of = family.id
    if reuse_of is not None:
        log.warning("refresh token reuse detected; session %s revoked", reuse_of)
    raise Unauthorized(BAD_REFRESH)


def _retry_after_lost_answer(
    session: Session, config: PortalConfig, row: StaffRefreshToken, now: datetime
) -> bool:
    """Accept a used refresh token once more when the answer to its rotation was evidently lost.

    That is: it was used less than `refresh_reuse_grace` ago, it was not accepted this way before,
    and its successor has never been used (whoever got the successor never presented it). The
    successor is then retired and a fresh pair is issued. Answering with the successor itself
    would need the token in clear, which the portal never keeps; and retiring it means that if a
    thief was the one who rotated, the thief's token dies here, while the session goes on with
    exactly one live refresh token. Claims are conditional updates, so of two racing
    presentations only one wins; the other is treated as reuse.
    """
    grace = config.refresh_reuse_grace
    if (
        grace <= timedelta(0)
        or row.used_at is None
        or row.replaced_by is None
        or row.grace_used_at is not None
        or now - row.used_at > grace
    ):
        return False
    successor = session.execute(
        update(StaffRefreshToken)
        .where(StaffRefreshToken.id == row.replaced_by, StaffRefreshToken.used_at.is_(None))
        .values(used_at=now)
        .returning(StaffRefreshToken.id)
    ).scalar_one_or_none()
    if successor is None:
        return False
    again = session.execute(
        update(StaffRefreshToken)
        .where(StaffRefreshToken.id == row.id, StaffRefreshToken.grace_used_at.is_(None))
        .values(grace_used_at=now)
        .returning(StaffRefreshToken.id)
    ).scalar_one_or_none()
    return again is not None


def patient_sign_in(
    db: Database, security: Security, config: PortalConfig, body: PatientSignIn, client: str
) -> PatientSession:
    security.passwords.gate.refuse_if_full()
    login = body.login.casefold()
    keys = SignInKeys.of("patient", login, client)
    column = PatientAccount.email if "@" in login else PatientAccount.username
    with db.read() as session:
        raise_if_sign_in_locked(session, keys)
        account = session.scalar(
            select(PatientAccount).where(column == login, PatientAccount.active.is_(True))
        )
    if not security.passwords.verify(account.password_hash if account else None, body.password):
        record_sign_in_failure(db, config, keys)
        log.info("patient sign-in failed")
        raise Unauthorized(PATIENT_WRONG_CREDENTIALS)
    assert account is not None
    with db.write() as session:
        clear_sign_in(session, keys)
        session.execute(
            update(PatientAccount)
            .where(PatientAccount.id == account.id)
            .values(last_sign_in_at=utcnow())
        )
        if security.passwords.needs_rehash(account.password_hash):
            session.execute(
                update(PatientAccount)
                .where(PatientAccount.id == account.id)
                .values(password_hash=security.passwords.hash(body.password))
            )
        result = open_session(session, security, config, account.id, display_name(account))
    log.info("patient sign-in: account %s", account.id)
    return result
