"""Flows connecting an account to a practice's patient records (cancelling a pending connect is a
single step, in `accounts.patient_side`).

- Connect (email accounts): name + date of birth (+ optional phone/ZIP). One matching record ->
  a Safe Health Code to the email or phone ON THE RECORD (never one the registrant typed); the
  right code links the patient. Anything else -> a Registration in the practice's queue.
- Link a family member: a "link" security code adds the code's patient with its relationship.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from visitdesk.api.wire import LinkedPatient
from visitdesk.api.wire_registration import (
    Channel,
    ConnectRequest,
    ConnectStarted,
    LinkRequest,
)
from visitdesk.matching.normalize import compact
from visitdesk.portal.accounts.account_rules import (
    hidden_text_problem,
    mask_email,
    mask_phone,
    phone_digits,
)
from visitdesk.portal.accounts.flows.registration import (
    check_code,
    code_throttle_key,
    count_unknown_code,
    practice_by_code,
)
from visitdesk.portal.accounts.patient_side import display_name, linked_patient, registration_out
from visitdesk.portal.codes import security_codes
from visitdesk.portal.codes.hashing import (
    CodeHasher,
    new_safe_health_code,
    normalise_safe_health_code,
)
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount, Practice
from visitdesk.portal.persistence.models_registration import PendingConnect, Registration
from visitdesk.portal.persistence.throttle import raise_if_locked, record_failure, throttle_key
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import Conflict, NotFound, PortalError, Unavailable, Unprocessable
from visitdesk.portal.web.notify import DeliveryFailed, Email, Messenger, TextMessage

log = logging.getLogger(__name__)

QUEUED_MESSAGE = (
    "Thank you. We could not confirm your details automatically, so the office will review your "
    "registration and connect your account. You do not need to do anything else."
)
RESTART = "This code no longer works. Start again to get a new code."


def _candidates(session: Session, practice_id: str, body: ConnectRequest) -> list[Patient]:
    same_birthday = session.scalars(
        select(Patient).where(
            Patient.practice_id == practice_id, Patient.date_of_birth == body.date_of_birth
        )
    ).all()
    # Exactly as the matcher's auto-connect: the normalised names (case, accents, spaces,
    # hyphens, apostrophes and suffixes do not matter) and the date of birth agree.
    first, last = compact(body.first_name), compact(body.last_name)
    matches = [
        p
        for p in same_birthday
        if first and last and compact(p.first_name) == first and compact(p.last_name) == last
    ]
    # Optional details narrow namesakes down, and a detail that contradicts the record makes
    # it someone else: better a person in the queue than a code sent to a stranger's patient.
    if body.phone and phone_digits(body.phone):
        matches = [p for p in matches if phone_digits(p.phone) == phone_digits(body.phone)]
    if body.postal_code:
        wanted = body.postal_code.replace(" ", "")[:5]
        matches = [p for p in matches if p.postal_code.replace(" ", "")[:5] == wanted]
    return matches


def _queue(
    session: Session, account: PatientAccount, practice_id: str, body: ConnectRequest
) -> Registration:
    """A pending registration for the desk; an identical pending one is reused."""
    existing = session.scalar(
        select(Registration).where(
            Registration.account_id == account.id,
            Registration.practice_id == practice_id,
            Registration.status == "pending",
            Registration.first_name == body.first_name,
            Registration.last_name == body.last_name,
            Registration.date_of_birth == body.date_of_birth,
        )
    )
    if existing is not None:
        return existing
    row = Registration(
        practice_id=practice_id,
        account_id=account.id,
        status="pending",
        first_name=body.first_name,
        last_name=body.last_name,
        date_of_birth=body.date_of_birth,
        email=account.email or "",
        phone=body.phone,
        postal_code=body.postal_code,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    append_changes(
        session, practice_id, [NewChange.of("registration", registration_out(row), row.id)]
    )
    audit.record(
        session,
        practice_id,
        audit.Actor("patient", account.id, display_name(account)),
        "registration.queued",
        "registration",
        row.id,
    )
    log.info("registration %s queued for practice %s", row.id, practice_id)
    return row


def _contact(patient: Patient, chosen: Channel) -> tuple[Channel, str] | None:
    email, phone = patient.email.strip(), patient.phone.strip()
    order: list[tuple[Channel, str]] = [("email", email), ("text", phone)]
    if chosen == "text":
        order.reverse()
    for channel, value in order:
        usable = "@" in value if channel == "email" else bool(phone_digits(value))
        if value and usable:
            return channel, value
    return None


@dataclass(frozen=True)
class _Outgoing:
    channel: Channel
    to: str
    code: str
    practice_name: str


def _deliver(messenger: Messenger, outgoing: _Outgoing, minutes: int) -> None:
    text = (
        f"Your {outgoing.practice_name} Safe Health Code is {outgoing.code}. It expires in "
        f"{minutes} minutes. If you did not ask for it, ignore this message."
    )
    if outgoing.channel == "email":
        messenger.mail.send(
            Email(
                to=outgoing.to,
                subject=f"Your Safe Health Code for {outgoing.practice_name}",
                body=f"Hello,\n\n{text}\n\nNever share this code; the office will not ask for it.\n",
            )
        )
    else:
        messenger.text.send(TextMessage(to=outgoing.to, body=text))


def patient_send_key(patient_id: str) -> str:
    return throttle_key("safe-health-code-sends", patient_id, "")


def patient_guess_key(patient_id: str) -> str:
    """Wrong Safe Health Codes against one patient record, from every account together."""
    return throttle_key("safe-health-code-patient", patient_id, "")


def start_connect(
    db: Database,
    hasher: CodeHasher,
    config: PortalConfig,
    messenger: Messenger,
    account_id: str,
    body: ConnectRequest,
) -> ConnectStarted:
    if problem := hidden_text_problem(first_name=body.first_name, last_name=body.last_name):
        raise Unprocessable(problem)
    with db.read() as session:
        practice = practice_by_code(session, body.practice_code)
        start_key = throttle_key("connect-start", practice.id, account_id)
        raise_if_locked(session, start_key, what="connection requests")
    # Every attempt counts, matched or not: unmatched ones land in the office's queue.
    record_failure(
        db,
        config,
        start_key,
        max_failures=config.connect_max_starts,
        window=config.connect_start_window,
    )
    outgoing: _Outgoing | None = None
    with db.write() as session:
        account = session.get(PatientAccount, account_id)
        assert account is not None
        matches = _candidates(session, practice.id, body)
        target = matches[0] if len(matches) == 1 else None
        contact = _contact(target, body.channel) if target is not None else None
        if target is not None and session.scalar(
            select(AccountLink.id).where(
                AccountLink.account_id == account_id,
                AccountLink.patient_id == target.id,
                AccountLink.revoked_at.is_(None),
            )
        ):
            return ConnectStarted(
                outcome="already_connected",
                message=f"Your account is already connected to this patient at {practice.name}.",
            )
        if target is None or contact is None:
            queued = _queue(session, account, practice.id, body)
            return ConnectStarted(
                outcome="queued", registration_id=queued.id, message=QUEUED_MESSAGE
            )
        # However many accounts ask, one patient gets only so many codes (each is a message
        # to her, and each is a chance to guess).
        raise_if_locked(
            session, patient_send_key(target.id), what="Safe Health Codes sent to this patient"
        )
        target_id = target.id
        now = utcnow()
        # Only one code in flight per account and practice: a new request voids the old.
        session.execute(
            update(PendingConnect)
            .where(
                PendingConnect.account_id == account_id,
                PendingConnect.practice_id == practice.id,
                PendingConnect.used_at.is_(None),
                PendingConnect.cancelled_at.is_(None),
            )
            .values(cancelled_at=now)
        )
        code = new_safe_health_code()
        channel, destination = contact
        pending = PendingConnect(
            account_id=account_id,
            practice_id=practice.id,
            patient_id=target.id,
            channel=channel,
            code_hash="",
            created_at=now,
            expires_at=now + config.safe_health_code_ttl,
            attempts=0,
        )
        session.add(pending)
        session.flush()
        pending.code_hash = hasher.safe_health_code(pending.id, code)
        audit.record(
            session,
            practice.id,
            audit.Actor("patient", account.id, display_name(account)),
            "connect.code_sent",
            "pending_connect",
            pending.id,
            patient_id=target.id,
            details={"channel": channel},
        )
        outgoing = _Outgoing(channel, destination, code, practice.name)
        connect_id, expires_at = pending.id, pending.expires_at
    record_failure(
        db,
        config,
        patient_send_key(target_id),
        max_failures=config.safe_health_code_sends_per_patient,
        window=config.connect_start_window,
    )
    try:
        _deliver(messenger, outgoing, int(config.safe_health_code_ttl.total_seconds() // 60))
    except DeliveryFailed as exc:
        with db.write() as session:
            session.execute(
                update(PendingConnect)
                .where(PendingConnect.id == connect_id)
                .values(cancelled_at=utcnow())
            )
        raise Unavailable(
            "We could not send the Safe Health Code just now. Please try again in a few minutes."
        ) from exc
    log.info("safe health code sent for connect %s", connect_id)
    sent_to = mask_email(outgoing.to) if outgoing.channel == "email" else mask_phone(outgoing.to)
    where = "email address" if outgoing.channel == "email" else "mobile phone"
    return ConnectStarted(
        outcome="code_sent",
        channel=outgoing.channel,
        connect_id=connect_id,
        sent_to=sent_to,
        expires_at=expires_at,
        message=(
            f"We sent a Safe Health Code to the {where} {practice.name} has on file ({sent_to}). "
            "Enter it to connect your account."
        ),
    )


def verify_connect(
    db: Database,
    hasher: CodeHasher,
    config: PortalConfig,
    account_id: str,
    connect_id: str,
    entered: str,
) -> LinkedPatient:
    account_key = throttle_key("safe-health-code", account_id, "")
    with db.read() as session:
        raise_if_locked(session, account_key, what="wrong Safe Health Codes")
        patient_id = session.scalar(
            select(PendingConnect.patient_id).where(
                PendingConnect.id == connect_id, PendingConnect.account_id == account_id
            )
        )
        if patient_id is not None:
            raise_if_locked(session, patient_guess_key(patient_id), what="wrong Safe Health Codes")
    failure: PortalError | None = None
    wrong = False
    with db.write() as session:
        pending = session.scalar(
            select(PendingConnect)
            .where(PendingConnect.id == connect_id, PendingConnect.account_id == account_id)
            .with_for_update()
        )
        if pending is None:
            raise NotFound("No such connection request on this account.")
        now = utcnow()
        if pending.used_at is not None:
            raise Conflict("This Safe Health Code was already used.")
        if (
            pending.cancelled_at is not None
            or pending.expires_at <= now
            or pending.attempts >= config.safe_health_code_max_attempts
        ):
            raise Unprocessable(RESTART)
        digits = normalise_safe_health_code(entered)
        if digits is None or not hasher.safe_health_code_matches(
            pending.id, digits, pending.code_hash
        ):
            pending.attempts += 1
            wrong = True
            left = config.safe_health_code_max_attempts - pending.attempts
            if left <= 0:
                pending.cancelled_at = now
                failure = Unprocessable("Too many wrong entries. " + RESTART)
            else:
                tries = "try" if left == 1 else "tries"
                failure = Unprocessable(f"That code is not right. {left} {tries} left.")
        else:
            link = session.scalar(
                select(AccountLink).where(
                    AccountLink.account_id == account_id,
                    AccountLink.patient_id == pending.patient_id,
                )
            )
            if link is not None and link.revoked_at is not None:
                raise Conflict(
                    "The office removed this patient from your account; please call the office."
                )
            pending.used_at = now
            if link is None:
                link = AccountLink(
                    account_id=account_id,
                    patient_id=pending.patient_id,
                    practice_id=pending.practice_id,
                    relationship="self",
                    method="safe_health_code",
                )
                session.add(link)
            account = session.get(PatientAccount, account_id)
            assert account is not None
            audit.record(
                session,
                pending.practice_id,
                audit.Actor("patient", account.id, display_name(account)),
                "connect.connected",
                "pending_connect",
                pending.id,
                patient_id=pending.patient_id,
            )
            patient = session.get(Patient, pending.patient_id)
            practice = session.get(Practice, pending.practice_id)
            assert patient is not None and practice is not None
            result = linked_patient(patient, practice, link.relationship)
    if failure is not None:
        if wrong:
            record_failure(
                db,
                config,
                account_key,
                max_failures=config.safe_health_code_max_attempts,
                window=config.safe_health_code_ttl,
            )
            if patient_id is not None:
                record_failure(
                    db,
                    config,
                    patient_guess_key(patient_id),
                    max_failures=config.safe_health_code_max_attempts,
                    window=config.connect_start_window,
                )
        raise failure
    log.info("connect %s completed", connect_id)
    return result


def link_family_member(
    db: Database,
    hasher: CodeHasher,
    config: PortalConfig,
    account_id: str,
    body: LinkRequest,
    client: str,
) -> LinkedPatient:
    with db.read() as session:
        practice = practice_by_code(session, body.practice_code)
        address_key = code_throttle_key(practice.id, client)
        account_key = throttle_key("security-code-account", account_id, "")
        for key in (address_key, account_key):
            raise_if_locked(session, key, what="wrong security codes")
    failure: PortalError | None = None
    unknown = False
    with db.write() as session:
        account = session.get(PatientAccount, account_id)
        assert account is not None
        actor = audit.Actor("patient", account.id, display_name(account))
        check = check_code(session, hasher, practice.id, body.security_code, "link")
        failure, unknown, row = check.error, check.unknown, check.row
        if failure is None:
            assert row is not None
            logins = {login for login in (account.email, account.username) if login}
            existing = session.scalar(
                select(AccountLink).where(
                    AccountLink.account_id == account_id, AccountLink.patient_id == row.patient_id
                )
            )
            if row.account_login is not None and row.account_login not in logins:
                security_codes.record_wrong_attempt(session, row, config, actor, "account")
                failure = Unprocessable(
                    "This code was issued for another portal account. Sign in with that account, "
                    "or ask the office for a code for this one."
                )
            elif existing is not None and existing.revoked_at is None:
                failure = Conflict("This patient is already linked to your account.")
            elif existing is not None:
                failure = Conflict(
                    "The office removed this patient from your account; please call the office."
                )
            else:
                link = AccountLink(
                    account_id=account_id,
                    patient_id=row.patient_id,
                    practice_id=practice.id,
                    relationship=row.relationship,
                    method="security_code",
                    security_code_id=row.id,
                    made_by_staff_id=row.issued_by_staff_id,
                    made_by=row.issued_by,
                )
                session.add(link)
                security_codes.mark_used(session, row, account_id, actor)
                audit.record(
                    session,
                    practice.id,
                    actor,
                    "link.created",
                    "account",
                    account_id,
                    patient_id=row.patient_id,
                    details={"relationship": row.relationship, "security_code_id": row.id},
                )
                patient = session.get(Patient, row.patient_id)
                assert patient is not None
                result = linked_patient(patient, practice, row.relationship)
    if failure is not None:
        if unknown:
            count_unknown_code(db, config, address_key, account_key)
        raise failure
    log.info("account %s linked a patient with a security code", account_id)
    return result
