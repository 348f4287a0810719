"""Security codes: the desk issues, lists, revokes and reissues them; patient flows redeem them.

Every change emits a ``security_code`` feed item (SecurityCodeOut) and an audit event, in the
same transaction. The full code exists only in the issuing response.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from visitdesk.api.wire_registration import (
    MAX_CODE_DAYS,
    MIN_CODE_DAYS,
    SecurityCodeCreate,
    SecurityCodeIssued,
    SecurityCodeOut,
    SecurityCodeStatus,
)
from visitdesk.portal.codes.hashing import (
    CodeHasher,
    format_security_code,
    new_security_code,
    normalise_security_code,
    security_code_hint,
)
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import Patient, PatientAccount, PracticeSetting
from visitdesk.portal.persistence.models_registration import SecurityCode
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import Conflict, NotFound, Unprocessable

log = logging.getLogger(__name__)

CODE_DAYS_SETTING = "security_code_days"
MAX_LIST = 1000


def code_status(row: SecurityCode, now: datetime | None = None) -> SecurityCodeStatus:
    if row.used_at is not None:
        return "used"
    if row.revoked_at is not None:
        return "revoked"
    if row.locked_at is not None:
        return "locked"
    if row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def security_code_out(row: SecurityCode, now: datetime | None = None) -> SecurityCodeOut:
    return SecurityCodeOut(
        id=row.id,
        patient_id=row.patient_id,
        purpose="link" if row.purpose == "link" else "register",
        relationship=row.relationship,  # type: ignore[arg-type]
        status=code_status(row, now),
        hint=row.hint,
        issued_at=row.issued_at,
        issued_by=row.issued_by,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
        failed_attempts=row.failed_attempts,
    )


def _emit(session: Session, row: SecurityCode) -> SecurityCodeOut:
    session.flush()
    out = security_code_out(row)
    append_changes(session, row.practice_id, [NewChange.of("security_code", out, row.id)])
    return out


def _audit(
    session: Session, row: SecurityCode, actor: audit.Actor, action: str, **details: object
) -> None:
    audit.record(
        session,
        row.practice_id,
        actor,
        action,
        "security_code",
        row.id,
        patient_id=row.patient_id,
        details={"purpose": row.purpose, "relationship": row.relationship, **details},
    )


def practice_code_days(session: Session, practice_id: str, config: PortalConfig) -> int:
    """The practice's default validity ('security_code_days' setting), else the portal's."""
    value = session.scalar(
        select(PracticeSetting.value).where(
            PracticeSetting.practice_id == practice_id, PracticeSetting.key == CODE_DAYS_SETTING
        )
    )
    try:
        days = int(value) if value is not None else config.security_code_days
    except ValueError:
        days = config.security_code_days
    return min(max(days, MIN_CODE_DAYS), MAX_CODE_DAYS)


def create_code(
    session: Session,
    hasher: CodeHasher,
    *,
    practice_id: str,
    patient_id: str,
    purpose: str,
    relationship: str,
    account_login: str | None,
    days: int,
    actor: audit.Actor,
) -> SecurityCodeIssued:
    code = new_security_code()
    now = utcnow()
    row = SecurityCode(
        practice_id=practice_id,
        patient_id=patient_id,
        purpose=purpose,
        relationship=relationship,
        code_hash=hasher.security_code(practice_id, code),
        hint=security_code_hint(code),
        account_login=account_login,
        issued_at=now,
        issued_by_staff_id=actor.id,
        issued_by=actor.name,
        expires_at=now + timedelta(days=days),
        failed_attempts=0,
    )
    session.add(row)
    out = _emit(session, row)
    _audit(session, row, actor, "security_code.issued", expires_at=out.expires_at.isoformat())
    log.info("security code %s issued in practice %s", row.id, practice_id)
    return SecurityCodeIssued(code=format_security_code(code), security_code=out)


def issue(
    session: Session,
    hasher: CodeHasher,
    config: PortalConfig,
    practice_id: str,
    actor: audit.Actor,
    body: SecurityCodeCreate,
) -> SecurityCodeIssued:
    patient_id = session.scalar(
        select(Patient.id).where(Patient.id == body.patient_id, Patient.practice_id == practice_id)
    )
    if patient_id is None:
        raise NotFound("No such patient in this practice.")
    login = body.account_login.casefold() if body.account_login else None
    if login is not None:
        exists = session.scalar(
            select(PatientAccount.id).where(
                or_(PatientAccount.email == login, PatientAccount.username == login),
                PatientAccount.active.is_(True),
            )
        )
        if exists is None:
            raise Unprocessable(
                "No portal account has that email address or username. Check the spelling, or "
                "leave it empty to let any signed-in account link with this code."
            )
    days = body.expires_in_days or practice_code_days(session, practice_id, config)
    return create_code(
        session,
        hasher,
        practice_id=practice_id,
        patient_id=patient_id,
        purpose=body.purpose,
        relationship=body.relationship,
        account_login=login,
        days=days,
        actor=actor,
    )


def _status_filter(status: SecurityCodeStatus, now: datetime) -> ColumnElement[bool]:
    unused = and_(SecurityCode.used_at.is_(None), SecurityCode.revoked_at.is_(None))
    if status == "used":
        return SecurityCode.used_at.is_not(None)
    if status == "revoked":
        # Also a used code revoked afterwards: it shows as "used" but was revoked, and someone
        # looking for revoked codes is looking for it too.
        return SecurityCode.revoked_at.is_not(None)
    if status == "locked":
        return and_(unused, SecurityCode.locked_at.is_not(None))
    open_ = and_(unused, SecurityCode.locked_at.is_(None))
    if status == "expired":
        return and_(open_, SecurityCode.expires_at <= now)
    return and_(open_, SecurityCode.expires_at > now)


def list_codes(
    session: Session,
    practice_id: str,
    *,
    patient_id: str | None = None,
    status: SecurityCodeStatus | None = None,
    limit: int = MAX_LIST,
) -> list[SecurityCodeOut]:
    """The practice's codes, newest first."""
    now = utcnow()
    query = select(SecurityCode).where(SecurityCode.practice_id == practice_id)
    if patient_id is not None:
        query = query.where(SecurityCode.patient_id == patient_id)
    if status is not None:
        query = query.where(_status_filter(status, now))
    rows = session.scalars(
        query.order_by(SecurityCode.issued_at.desc(), SecurityCode.id).limit(limit)
    )
    return [security_code_out(row, now) for row in rows]


def _staff_code(session: Session, practice_id: str, code_id: str) -> SecurityCode:
    row = session.scalar(
        select(SecurityCode)
        .where(SecurityCode.id == code_id, SecurityCode.practice_id == practice_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("No such security code.")
    return row


def revoke(session: Session, practice_id: str, actor: audit.Actor, code_id: str) -> SecurityCodeOut:
    row = _staff_code(session, practice_id, code_id)
    if row.revoked_at is not None:
        return security_code_out(row)
    row.revoked_at = utcnow()
    row.revoked_by_staff_id = actor.id
    out = _emit(session, row)
    # A used code stays used: revoking it afterwards (it reached the wrong person) leaves the
    # link it made in place and puts that link on the managers' "Needs review" list.
    _audit(
        session,
        row,
        actor,
        "security_code.revoked_after_use" if row.used_at is not None else "security_code.revoked",
    )
    log.info("security code %s revoked", row.id)
    return out


def reissue(
    session: Session,
    hasher: CodeHasher,
    config: PortalConfig,
    practice_id: str,
    actor: audit.Actor,
    code_id: str,
) -> SecurityCodeIssued:
    """Revoke the code (unless already revoked) and issue a new one for the same purpose."""
    old = _staff_code(session, practice_id, code_id)
    if old.used_at is not None:
        raise Conflict(
            "This code was already used; issue a new code if the patient needs another one."
        )
    if old.revoked_at is None:
        old.revoked_at = utcnow()
        old.revoked_by_staff_id = actor.id
    issued = create_code(
        session,
        hasher,
        practice_id=practice_id,
        patient_id=old.patient_id,
        purpose=old.purpose,
        relationship=old.relationship,
        account_login=old.account_login,
        days=practice_code_days(session, practice_id, config),
        actor=actor,
    )
    old.replaced_by_id = issued.security_code.id
    _emit(session, old)
    _audit(session, old, actor, "security_code.revoked", replaced_by=issued.security_code.id)
    return issued


# --------------------------------------------------------------------------- redemption


def find_code(
    session: Session, hasher: CodeHasher, practice_id: str, entered: str
) -> SecurityCode | None:
    """The practice's code with this value, locked for update; raises MalformedCode."""
    code = normalise_security_code(entered)
    return session.scalar(
        select(SecurityCode)
        .where(
            SecurityCode.practice_id == practice_id,
            SecurityCode.code_hash == hasher.security_code(practice_id, code),
        )
        .with_for_update()
    )


def record_wrong_attempt(
    session: Session, row: SecurityCode, config: PortalConfig, actor: audit.Actor, why: str
) -> None:
    """A right code with the wrong name or account: count it; lock the code at the limit."""
    row.failed_attempts += 1
    locked = row.failed_attempts >= config.security_code_max_attempts and row.locked_at is None
    if locked:
        row.locked_at = utcnow()
    _emit(session, row)
    _audit(session, row, actor, "security_code.failed_attempt", reason=why)
    if locked:
        _audit(session, row, audit.SYSTEM, "security_code.locked")
        log.info("security code %s locked after %d wrong attempts", row.id, row.failed_attempts)


def mark_used(session: Session, row: SecurityCode, account_id: str, actor: audit.Actor) -> None:
    row.used_at = utcnow()
    row.used_by_account_id = account_id
    _emit(session, row)
    _audit(session, row, actor, "security_code.used", account_id=account_id)
    log.info("security code %s used", row.id)
