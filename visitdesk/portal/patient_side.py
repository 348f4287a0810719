"""What a patient account may read and do: sign-in, linked patients, appointments."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from visitdesk.portal.clock import day_bounds, local_today
from visitdesk.portal.config import PortalConfig
from visitdesk.portal.db import Database, utcnow
from visitdesk.portal.errors import Unauthorized
from visitdesk.portal.models import AccountLink, Appointment, Patient, PatientAccount, Practice
from visitdesk.portal.security import Security
from visitdesk.portal.throttle import clear, raise_if_locked, record_failure, throttle_key
from visitdesk.sync.wire import (
    AccountInfo,
    LinkedPatient,
    PatientAppointment,
    PatientSession,
    PatientSignIn,
)

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Incorrect login or password."
PATIENT_TOKEN = "patient"  # noqa: S105  (token type claim)


def display_name(account: PatientAccount) -> str:
    return f"{account.first_name} {account.last_name}".strip()


def sign_in(
    db: Database, security: Security, config: PortalConfig, body: PatientSignIn, client: str
) -> PatientSession:
    login = body.login.casefold()
    key = throttle_key("patient", login, client)
    column = PatientAccount.email if "@" in login else PatientAccount.username
    with db.read() as session:
        raise_if_locked(session, key)
        account = session.scalar(
            select(PatientAccount).where(column == login, PatientAccount.active.is_(True))
        )
    if not security.passwords.verify(account.password_hash if account else None, body.password):
        record_failure(db, config, key)
        log.info("patient sign-in failed")
        raise Unauthorized(WRONG_CREDENTIALS)
    assert account is not None
    with db.write() as session:
        clear(session, key)
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
    ttl = int(config.patient_token_ttl.total_seconds())
    log.info("patient sign-in: account %s", account.id)
    return PatientSession(
        access_token=security.tokens.issue(PATIENT_TOKEN, account.id, ttl),
        expires_in=ttl,
        account=AccountInfo(id=account.id, display_name=display_name(account)),
    )


def linked_patients(db: Database, account_id: str) -> list[LinkedPatient]:
    with db.read() as session:
        rows = session.execute(
            select(Patient, Practice, AccountLink.relationship)
            .join(AccountLink, AccountLink.patient_id == Patient.id)
            .join(Practice, Practice.id == Patient.practice_id)
            .where(AccountLink.account_id == account_id, AccountLink.revoked_at.is_(None))
            .order_by(AccountLink.created_at, Patient.last_name, Patient.first_name)
        ).all()
    return [
        LinkedPatient(
            patient_id=patient.id,
            practice_id=practice.id,
            practice_name=practice.name,
            first_name=patient.first_name,
            last_name=patient.last_name,
            date_of_birth=patient.date_of_birth,
            relationship=relationship,
        )
        for patient, practice, relationship in rows
    ]


def appointments(db: Database, account_id: str) -> list[PatientAppointment]:
    """Today's (in each practice's timezone) and upcoming appointments of linked patients."""
    now = utcnow()
    with db.read() as session:
        practices = session.execute(
            select(Practice.id, Practice.timezone)
            .join(AccountLink, AccountLink.practice_id == Practice.id)
            .where(AccountLink.account_id == account_id, AccountLink.revoked_at.is_(None))
            .distinct()
        ).all()
        if not practices:
            return []
        conditions = []
        for practice_id, timezone in practices:
            start, _ = day_bounds(timezone, local_today(timezone, now))
            conditions.append(
                (Appointment.practice_id == practice_id) & (Appointment.starts_at >= start)
            )
        rows = session.scalars(
            select(Appointment)
            .join(AccountLink, AccountLink.patient_id == Appointment.patient_id)
            .where(
                AccountLink.account_id == account_id,
                AccountLink.revoked_at.is_(None),
                Appointment.starts_at < now + timedelta(days=366),
                or_(*conditions),
            )
            .order_by(Appointment.starts_at)
        ).all()
    return [
        PatientAppointment(
            id=row.id,
            patient_id=row.patient_id,
            starts_at=row.starts_at,
            duration_minutes=row.duration_minutes,
            provider=row.provider,
            location=row.location,
            status="cancelled" if row.status == "cancelled" else "scheduled",
        )
        for row in rows
    ]
