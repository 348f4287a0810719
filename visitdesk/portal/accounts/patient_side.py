"""What a signed-in patient account reads and the single-step changes it makes: linked patients,
appointments, the account's details and security-question status, its registrations, confirming
an email address and cancelling a connect request.

Every function here works inside the caller's transaction (the routes open it); the steps that
must commit more than once are in `accounts.flows`.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from functools import partial

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from visitdesk.api.wire import AccountInfo, LinkedPatient, PatientAppointment, PatientSession
from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.api.wire_registration import (
    AccountDetails,
    PatientRegistration,
    RegistrationOut,
    SecurityQuestionsStatus,
)
from visitdesk.portal.checkins import rules
from visitdesk.portal.persistence.clock import day_bounds, local_today
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.models import (
    AccountLink,
    Appointment,
    Patient,
    PatientAccount,
    Practice,
)
from visitdesk.portal.persistence.models import PatientSession as PatientSessionRow
from visitdesk.portal.persistence.models_registration import (
    EmailToken,
    PendingConnect,
    Registration,
    SecurityAnswer,
)
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import NotFound, Unprocessable
from visitdesk.portal.web.security import Security

log = logging.getLogger(__name__)

PATIENT_TOKEN = "patient"  # noqa: S105  (token type claim)


def open_session(
    session: Session, security: Security, config: PortalConfig, account_id: str, name: str
) -> PatientSession:
    """A new server-side session and an access token bound to it (claim ``sid``)."""
    now = utcnow()
    row = PatientSessionRow(
        account_id=account_id, created_at=now, expires_at=now + config.patient_token_ttl
    )
    session.add(row)
    session.flush()
    ttl = int(config.patient_token_ttl.total_seconds())
    return PatientSession(
        access_token=security.tokens.issue(PATIENT_TOKEN, account_id, ttl, sid=row.id),
        expires_in=ttl,
        account=AccountInfo(id=account_id, display_name=name),
    )


def revoke_sessions(session: Session, account_id: str, *, only: str | None = None) -> None:
    """End the account's sessions (or just ``only``): their access tokens stop working at once."""
    query = update(PatientSessionRow).where(
        PatientSessionRow.account_id == account_id, PatientSessionRow.revoked_at.is_(None)
    )
    if only is not None:
        query = query.where(PatientSessionRow.id == only)
    session.execute(query.values(revoked_at=utcnow()))


def display_name(account: PatientAccount) -> str:
    return full_name(account.first_name, account.last_name)


def full_name(first_name: str, last_name: str) -> str:
    """An account holder's name as the portal shows it (read column by column)."""
    return f"{first_name} {last_name}".strip()


def linked_patients(session: Session, account_id: str) -> list[LinkedPatient]:
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


def appointments(session: Session, account_id: str) -> list[PatientAppointment]:
    """Today's (in each practice's timezone) and upcoming appointments of linked patients."""
    now = utcnow()
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
    windows = {
        practice_id: partial(_window_of, rules.read_settings(session, practice_id))
        for practice_id, _ in practices
    }
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
            check_in_opens_at=windows[row.practice_id](row).opens,
            check_in_closes_at=windows[row.practice_id](row).closes,
        )
        for row in rows
    ]


def registration_out(row: Registration) -> RegistrationOut:
    return RegistrationOut(
        id=row.id,
        account_id=row.account_id,
        status=row.status,  # type: ignore[arg-type]
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        email=row.email,
        phone=row.phone,
        postal_code=row.postal_code,
        created_at=row.created_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        patient_id=row.patient_id,
        reason=row.reason,
    )


def linked_patient(patient: Patient, practice: Practice, relationship: str) -> LinkedPatient:
    return LinkedPatient(
        patient_id=patient.id,
        practice_id=practice.id,
        practice_name=practice.name,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        relationship=relationship,
    )


def account_registrations(session: Session, account_id: str) -> list[PatientRegistration]:
    rows = session.execute(
        select(Registration, Practice.name)
        .join(Practice, Practice.id == Registration.practice_id)
        .where(Registration.account_id == account_id)
        .order_by(Registration.created_at.desc())
    ).all()
    return [
        PatientRegistration(
            id=row.id,
            practice_name=name,
            status=row.status,  # type: ignore[arg-type]
            first_name=row.first_name,
            last_name=row.last_name,
            date_of_birth=row.date_of_birth,
            created_at=row.created_at,
            reason=row.reason,
        )
        for row, name in rows
    ]


def linked_patient_of(session: Session, account_id: str, patient_id: str) -> LinkedPatient:
    row = session.execute(
        select(Patient, Practice, AccountLink.relationship)
        .join(AccountLink, AccountLink.patient_id == Patient.id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(
            AccountLink.account_id == account_id,
            AccountLink.patient_id == patient_id,
            AccountLink.revoked_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("No such patient on this account.")
    return linked_patient(*row)


def questions_status(session: Session, account_id: str) -> SecurityQuestionsStatus:
    rows = session.scalars(
        select(SecurityAnswer)
        .where(SecurityAnswer.account_id == account_id)
        .order_by(SecurityAnswer.position)
    ).all()
    if not rows:
        return SecurityQuestionsStatus(set=False)
    return SecurityQuestionsStatus(
        set=True, question_ids=[row.question_id for row in rows], set_at=rows[0].set_at
    )


def pending_email(session: Session, account_id: str) -> str | None:
    """The address a registrant typed that is not (yet) the account's: unconfirmed, unused."""
    return session.scalar(
        select(EmailToken.email)
        .where(
            EmailToken.account_id == account_id,
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > utcnow(),
        )
        .order_by(EmailToken.created_at.desc())
        .limit(1)
    )


def account_details(session: Session, account_id: str) -> AccountDetails:
    account = session.get(PatientAccount, account_id)
    if account is None:
        raise NotFound("No such account.")
    answered = bool(
        session.scalar(select(func.count()).where(SecurityAnswer.account_id == account_id))
    )
    return AccountDetails(
        id=account.id,
        display_name=display_name(account),
        # An address that another account holds is shown to its registrant as typed, unconfirmed
        # (never attached): the answer must not tell whether the address has an account.
        email=account.email or pending_email(session, account_id),
        email_confirmed=account.email_confirmed_at is not None,
        username=account.username,
        security_questions_set=answered,
        needs_security_questions=account.username is not None and not answered,
    )


def confirm_email(session: Session, token: str) -> None:
    token_hash = hashlib.sha256(token.strip().encode()).hexdigest()
    row = session.scalar(select(EmailToken).where(EmailToken.token_hash == token_hash))
    account = session.get(PatientAccount, row.account_id) if row is not None else None
    if (
        row is None
        or account is None
        or row.used_at is not None
        or row.expires_at <= utcnow()
        or account.email != row.email
    ):
        raise Unprocessable(
            "This confirmation code is not valid or has expired. Sign in and ask for a new one."
        )
    row.used_at = utcnow()
    if account.email_confirmed_at is None:
        account.email_confirmed_at = row.used_at
    log.info("email confirmed for account %s", account.id)


def cancel_connect(session: Session, account_id: str, connect_id: str) -> None:
    pending = session.scalar(
        select(PendingConnect)
        .where(PendingConnect.id == connect_id, PendingConnect.account_id == account_id)
        .with_for_update()
    )
    if pending is None:
        raise NotFound("No such connection request on this account.")
    if pending.used_at is None and pending.cancelled_at is None:
        pending.cancelled_at = utcnow()


def _window_of(settings: CheckInSettings, row: Appointment) -> rules.Window:
    return rules.window(row, settings)
