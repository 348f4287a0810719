"""Flows of patient accounts: registration by email or by username with a security code,
resending the email confirmation, and the three security questions (confirming the email is a
single step, in `accounts.patient_side`).

Email registration never reveals whether an address is already registered: both cases hash the
password, send one email (a confirmation, or "someone tried to register with your address") and
answer the same words. The new account then signs in (POST /sessions) without confirming first.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from visitdesk.api.wire import PatientSession
from visitdesk.api.wire_registration import (
    EmailRegistration,
    RegistrationAccepted,
    SecurityAnswers,
    SecurityQuestionsStatus,
    UsernameRegistration,
)
from visitdesk.portal.accounts.account_rules import (
    QUESTION_IDS,
    answer_key,
    hidden_text_problem,
    names_match,
    password_problem,
)
from visitdesk.portal.accounts.patient_side import (
    display_name,
    open_session,
    pending_email,
    questions_status,
)
from visitdesk.portal.codes import security_codes
from visitdesk.portal.codes.hashing import CodeHasher, MalformedCode
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount, Practice
from visitdesk.portal.persistence.models_registration import (
    EmailToken,
    SecurityAnswer,
    SecurityCode,
)
from visitdesk.portal.persistence.throttle import raise_if_locked, record_failure, throttle_key
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import Conflict, NotFound, PortalError, Unprocessable
from visitdesk.portal.web.notify import DeliveryFailed, Email, Messenger
from visitdesk.portal.web.security import Security

log = logging.getLogger(__name__)

TERMS_REQUIRED = "Please accept the Terms & Conditions to create an account."
INVALID_CODE = (
    "This security code is not valid. Check it against the slip from the office, or call the "
    "office for a new one."
)
MALFORMED_CODE = "A security code has 12 letters and digits, for example K7QM-3XHP-TW9R."
CODE_STATUS_MESSAGES = {
    "used": "This security code was already used. Sign in instead, or ask the office for a new code.",
    "revoked": "This security code was cancelled by the office; ask them for a new one.",
    "expired": "This security code has expired; ask the office for a new one.",
    "locked": "This security code is locked after too many attempts; ask the office for a new one.",
}
NAME_MISMATCH = (
    "The first and last name must be exactly as on the patient record (as on your insurance "
    "card). Check the spelling and try again."
)
EMAIL_CHOICE_NEEDED = (
    "No email address was given. Add one (recommended: it lets you reset your password), or "
    "choose to proceed without email."
)
QUESTIONS_FIXED = (
    "Your security questions are already set and cannot be changed. If you need help with your "
    "account, please call the office."
)


def _accepted(email: str) -> RegistrationAccepted:
    return RegistrationAccepted(
        message=(
            "Thank you. We sent a message to this address. If you just created an account you "
            "can sign in now; confirm your email address with the link in the message."
        ),
        confirmation_sent_to=email,
    )


def _check_password(password: str, *, username: str | None, email: str | None) -> None:
    problem = password_problem(password, username=username, email=email)
    if problem is not None:
        raise Unprocessable(problem)


def _new_email_token(session: Session, account_id: str, email: str, config: PortalConfig) -> str:
    token = secrets.token_urlsafe(24)
    session.add(
        EmailToken(
            account_id=account_id,
            email=email,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=utcnow() + config.email_token_ttl,
        )
    )
    return token


def _confirmation_email(config: PortalConfig, to: str, first_name: str, token: str) -> Email:
    where = (
        f"Open this link to confirm it:\n\n  {config.portal_public_url.rstrip('/')}/confirm-email?token={token}\n"
        if config.portal_public_url
        else f"Enter this confirmation code in the portal:\n\n  {token}\n"
    )
    return Email(
        to=to,
        subject="Confirm your email address for your patient portal account",
        body=(
            f"Hello {first_name},\n\nThank you for creating a patient portal account. {where}\n"
            "You can use your account before confirming. If you did not create this account, "
            "ignore this message.\n"
        ),
    )


def _someone_tried_email(to: str) -> Email:
    return Email(
        to=to,
        subject="Someone tried to register with your email address",
        body=(
            "Hello,\n\nSomeone just tried to create a patient portal account with this email "
            "address, which already has an account. If it was you, sign in with your password "
            "(or reset it if you forgot it). If it was not you, you can ignore this message: "
            "your account was not changed.\n"
        ),
    )


def _send(messenger: Messenger, message: Email) -> None:
    try:
        messenger.mail.send(message)
    except DeliveryFailed:
        log.error("registration email could not be sent")


def register_by_email(
    db: Database,
    security: Security,
    config: PortalConfig,
    messenger: Messenger,
    body: EmailRegistration,
) -> RegistrationAccepted:
    if not body.accept_terms:
        raise Unprocessable(TERMS_REQUIRED)
    if problem := hidden_text_problem(first_name=body.first_name, last_name=body.last_name):
        raise Unprocessable(problem)
    email = body.email.casefold()
    _check_password(body.password, username=None, email=email)
    mail_key = throttle_key("registration-mail", email, "")
    with db.read() as session:
        raise_if_locked(session, mail_key, what="registration attempts for this address")
    password_hash = security.passwords.hash(body.password)  # in both cases: same timing
    message: Email
    try:
        with db.write() as session:
            existing = session.scalar(
                select(PatientAccount.id).where(PatientAccount.email == email)
            )
            if existing is not None:
                message = _someone_tried_email(email)
            else:
                account = PatientAccount(
                    email=email,
                    first_name=body.first_name,
                    last_name=body.last_name,
                    password_hash=password_hash,
                )
                session.add(account)
                session.flush()
                token = _new_email_token(session, account.id, email, config)
                message = _confirmation_email(config, email, body.first_name, token)
                log.info("patient account %s registered by email", account.id)
    except IntegrityError:
        message = _someone_tried_email(email)  # registered concurrently
    record_failure(
        db,
        config,
        mail_key,
        max_failures=config.registration_mail_max,
        window=config.registration_mail_window,
    )
    _send(messenger, message)
    return _accepted(body.email)


def resend_confirmation(
    db: Database, config: PortalConfig, messenger: Messenger, account_id: str
) -> None:
    with db.write() as session:
        account = session.get(PatientAccount, account_id)
        pending = pending_email(session, account_id) if account is not None else None
        if account is not None and account.email is None and pending is not None:
            # The typed address belongs to another account: its owner hears of it, as at
            # registration, and this caller gets the same answer as any resend.
            claimed = pending
        elif account is None or account.email is None:
            raise Unprocessable("This account has no email address to confirm.")
        else:
            claimed = None
    if claimed is not None:
        send_throttled(db, config, messenger, claimed, _someone_tried_email(claimed))
        return
    with db.write() as session:
        account = session.get_one(PatientAccount, account_id)
        assert account.email is not None
        if account.email_confirmed_at is not None:
            raise Conflict("This email address is already confirmed.")
        mail_key = throttle_key("registration-mail", account.email, "")
        raise_if_locked(session, mail_key, what="emails to this address")
        token = _new_email_token(session, account.id, account.email, config)
        message = _confirmation_email(config, account.email, account.first_name, token)
    record_failure(
        db,
        config,
        mail_key,
        max_failures=config.registration_mail_max,
        window=config.registration_mail_window,
    )
    _send(messenger, message)


def send_throttled(
    db: Database, config: PortalConfig, messenger: Messenger, to: str, message: Email
) -> None:
    """Send unless the address had its share of registration mail; silently skip then."""
    mail_key = throttle_key("registration-mail", to, "")
    try:
        with db.read() as session:
            raise_if_locked(session, mail_key)
    except PortalError:
        log.info("registration mail skipped: address throttled")
        return
    record_failure(
        db,
        config,
        mail_key,
        max_failures=config.registration_mail_max,
        window=config.registration_mail_window,
    )
    _send(messenger, message)


# --------------------------------------------------------------------------- security codes


def practice_by_code(session: Session, code: str) -> Practice:
    practice = session.scalar(select(Practice).where(Practice.code == code.strip().casefold()))
    if practice is None:
        raise NotFound("No practice has this practice code. Check it on the slip from the office.")
    return practice


def code_throttle_key(practice_id: str, client: str) -> str:
    return throttle_key("security-code", practice_id, client)


@dataclass
class CodeCheck:
    """What looking up an entered code found; failures are raised after the transaction commits
    so that a wrong attempt is counted even though the call fails."""

    row: SecurityCode | None = None
    error: PortalError | None = None
    unknown: bool = False


def check_code(
    session: Session, hasher: CodeHasher, practice_id: str, entered: str, purpose: str
) -> CodeCheck:
    try:
        row = security_codes.find_code(session, hasher, practice_id, entered)
    except MalformedCode:
        return CodeCheck(error=Unprocessable(MALFORMED_CODE))
    if row is None:
        return CodeCheck(error=Unprocessable(INVALID_CODE), unknown=True)
    status = security_codes.code_status(row)
    if status != "active":
        return CodeCheck(row, Unprocessable(CODE_STATUS_MESSAGES[status]))
    if row.purpose != purpose:
        detail = (
            "This code is for linking a family member to an existing account: sign in, then "
            "use it under Link a family member."
            if row.purpose == "link"
            else "This code is for creating a new account with a username, not for linking."
        )
        return CodeCheck(row, Unprocessable(detail))
    return CodeCheck(row)


def count_unknown_code(db: Database, config: PortalConfig, *keys: str) -> None:
    for key in keys:
        record_failure(
            db,
            config,
            key,
            max_failures=config.code_entry_max_failures,
            window=config.code_entry_window,
        )


def register_by_username(
    db: Database,
    security: Security,
    hasher: CodeHasher,
    config: PortalConfig,
    messenger: Messenger,
    body: UsernameRegistration,
    client: str,
) -> PatientSession:
    if body.email is None and body.email_choice != "proceed_without":
        raise Unprocessable(EMAIL_CHOICE_NEEDED)
    if problem := hidden_text_problem(first_name=body.first_name, last_name=body.last_name):
        raise Unprocessable(problem)
    username = body.username.casefold()
    email = body.email.casefold() if body.email else None
    _check_password(body.password, username=username, email=email)
    with db.read() as session:
        practice_id = practice_by_code(session, body.practice_code).id
        address_key = code_throttle_key(practice_id, client)
        raise_if_locked(session, address_key, what="wrong security codes from this address")
    password_hash = security.passwords.hash(body.password)
    failure: PortalError | None = None
    unknown = False
    message: Email | None = None
    with db.write() as session:
        check = check_code(session, hasher, practice_id, body.security_code, "register")
        failure, unknown, row = check.error, check.unknown, check.row
        if failure is None:
            assert row is not None
            patient = session.get(Patient, row.patient_id)
            assert patient is not None
            if not names_match(
                body.first_name, body.last_name, patient.first_name, patient.last_name
            ):
                security_codes.record_wrong_attempt(
                    session, row, config, audit.Actor("patient", "", "registration"), "name"
                )
                failure = Unprocessable(NAME_MISMATCH)
            elif session.scalar(
                select(PatientAccount.id).where(PatientAccount.username == username)
            ):
                failure = Conflict("This username is taken; please choose another.")
            else:
                # An address that already has an account is not attached, and the answer does
                # not say so (that would tell anyone with a code slip who has an account); its
                # owner is told by email instead, as with email registration.
                email_taken = email is not None and bool(
                    session.scalar(select(PatientAccount.id).where(PatientAccount.email == email))
                )
                account = PatientAccount(
                    username=username,
                    email=None if email_taken else email,
                    first_name=patient.first_name,
                    last_name=patient.last_name,
                    password_hash=password_hash,
                )
                session.add(account)
                session.flush()
                session.add(
                    AccountLink(
                        account_id=account.id,
                        patient_id=patient.id,
                        practice_id=practice_id,
                        relationship="self",
                        method="security_code",
                        security_code_id=row.id,
                        made_by_staff_id=row.issued_by_staff_id,
                        made_by=row.issued_by,
                    )
                )
                actor = audit.Actor("patient", account.id, display_name(account))
                security_codes.mark_used(session, row, account.id, actor)
                audit.record(
                    session,
                    practice_id,
                    actor,
                    "account.registered",
                    "account",
                    account.id,
                    patient_id=patient.id,
                    details={"method": "username", "security_code_id": row.id},
                )
                if email:
                    # For a taken address the token is never sent: it only records the
                    # address the registrant typed, shown to them as unconfirmed.
                    token = _new_email_token(session, account.id, email, config)
                    message = (
                        _someone_tried_email(email)
                        if email_taken
                        else _confirmation_email(config, email, account.first_name, token)
                    )
                account_id, name = account.id, display_name(account)
                signed_in = open_session(session, security, config, account_id, name)
    if failure is not None:
        if unknown:
            count_unknown_code(db, config, address_key)
        raise failure
    log.info("patient account %s registered with a security code", account_id)
    if email and message is not None:
        send_throttled(db, config, messenger, email, message)
    return signed_in


# --------------------------------------------------------------------------- the account


def set_security_questions(
    db: Database, security: Security, account_id: str, body: SecurityAnswers
) -> SecurityQuestionsStatus:
    ids = [answer.question_id for answer in body.answers]
    unknown = [qid for qid in ids if qid not in QUESTION_IDS]
    if unknown:
        raise Unprocessable(f"Unknown security question {unknown[0]!r}; pick from the list.")
    if len(set(ids)) != len(ids):
        raise Unprocessable("Choose three different security questions.")
    keys = [answer_key(answer.answer) for answer in body.answers]
    if any(not key for key in keys):
        raise Unprocessable("Answer each of the three security questions.")
    with db.read() as session:
        if questions_status(session, account_id).set:
            raise Conflict(QUESTIONS_FIXED)
    hashes = [security.passwords.hash(key) for key in keys]
    now = utcnow()
    try:
        with db.write() as session:
            if questions_status(session, account_id).set:
                raise Conflict(QUESTIONS_FIXED)
            for position, (qid, answer_hash) in enumerate(zip(ids, hashes, strict=True), 1):
                session.add(
                    SecurityAnswer(
                        account_id=account_id,
                        position=position,
                        question_id=qid,
                        answer_hash=answer_hash,
                        set_at=now,
                    )
                )
            session.flush()
            status = questions_status(session, account_id)
    except IntegrityError as exc:  # a concurrent call set them first
        raise Conflict(QUESTIONS_FIXED) from exc
    log.info("security questions set for account %s", account_id)
    return status
