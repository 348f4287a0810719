"""Patient account upkeep: sign-out, password change, and account recovery.

- **Forgot password** (an account with an email address): a single-use link that expires in an
  hour goes to the address; the answer never says whether the address has an account.
- **Username accounts**: the three security questions (the same three questions come back for a
  username that does not exist, so they tell nothing); after a few wrong attempts the questions
  stop working and only a fresh security code from the office (a "register" code of the account
  holder's own record) recovers the account.
- **Reclaiming an address**: someone may register with an address they do not own. The address's
  owner uses "forgot password": an email account whose address was never confirmed becomes the
  owner's, and whatever its registrant linked to it is removed; an address never confirmed on a
  username account (its holder proved who they are with an office code) is released from it so
  its owner can register with it.

Any password set here ends every session of the account: a stolen session does not survive it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from visitdesk.api.wire import PatientSession
from visitdesk.api.wire_accounts import (
    ForgotPassword,
    PasswordChange,
    PasswordReset,
    PasswordResetDone,
    RecoveryAnswers,
    RecoveryQuestions,
    RecoveryStarted,
    RecoveryWithCode,
)
from visitdesk.api.wire_registration import SecurityQuestion
from visitdesk.portal.accounts.account_rules import (
    QUESTION_IDS,
    SECURITY_QUESTIONS,
    answer_key,
    password_problem,
)
from visitdesk.portal.accounts.flows.registration import (
    check_code,
    code_throttle_key,
    count_unknown_code,
    practice_by_code,
    send_throttled,
)
from visitdesk.portal.accounts.patient_side import display_name, open_session, revoke_sessions
from visitdesk.portal.codes import security_codes
from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.models import AccountLink, LoginThrottle, PatientAccount
from visitdesk.portal.persistence.models_registration import (
    EmailToken,
    PasswordResetToken,
    PendingConnect,
    SecurityAnswer,
)
from visitdesk.portal.persistence.throttle import raise_if_locked, record_failure, throttle_key
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import TooManyAttempts, Unauthorized, Unprocessable
from visitdesk.portal.web.notify import Email, Messenger
from visitdesk.portal.web.security import Security

log = logging.getLogger(__name__)

RESET_SENT = (
    "If this address belongs to a portal account, we sent it a link to choose a new password. "
    "The link works once, within the hour."
)
BAD_RESET_LINK = "This password-reset link is not valid or has expired; ask for a new one."
WRONG_ANSWERS = "The answers do not match. Check them and try again."
QUESTIONS_EXHAUSTED = (
    "Too many wrong answers: the security questions are locked for this account. Ask the office "
    "for a new security code and use it to choose a new password."
)
CODE_NOT_FOR_ACCOUNT = "This security code is not valid for this username."
CURRENT_MISMATCH = "The current password is not correct."


def _check_password(password: str, account: PatientAccount) -> None:
    problem = password_problem(password, username=account.username, email=account.email)
    if problem is not None:
        raise Unprocessable(problem)


def _set_password(session: Session, account: PatientAccount, password_hash: str) -> None:
    account.password_hash = password_hash
    revoke_sessions(session, account.id)


# --------------------------------------------------------------------------- signed in


def sign_out(db: Database, account_id: str, session_id: str) -> None:
    with db.write() as session:
        revoke_sessions(session, account_id, only=session_id)
    log.info("patient signed out: account %s", account_id)


def change_password(
    db: Database, security: Security, config: PortalConfig, account_id: str, body: PasswordChange
) -> PatientSession:
    """Change the password; every session ends, and the caller gets a fresh one."""
    with db.read() as session:
        account = session.get_one(PatientAccount, account_id)
    if not security.passwords.verify(account.password_hash, body.current_password):
        raise Unauthorized(CURRENT_MISMATCH)
    _check_password(body.new_password, account)
    new_hash = security.passwords.hash(body.new_password)
    with db.write() as session:
        row = session.get_one(PatientAccount, account_id)
        _set_password(session, row, new_hash)
        fresh = open_session(session, security, config, row.id, display_name(row))
    log.info("patient password changed: account %s", account_id)
    return fresh


# --------------------------------------------------------------------------- forgot password


def _reset_email(config: PortalConfig, to: str, token: str, ttl_minutes: int) -> Email:
    where = (
        f"Open this link to choose a new password:\n\n  "
        f"{config.portal_public_url.rstrip('/')}/reset-password?token={token}\n"
        if config.portal_public_url
        else f"Enter this reset code in the portal:\n\n  {token}\n"
    )
    return Email(
        to=to,
        subject="Reset your patient portal password",
        body=(
            f"Hello,\n\nSomeone asked to reset the password of the patient portal account for "
            f"this address. {where}\nIt works once, within {ttl_minutes} minutes. If you did not "
            "ask, ignore this message: nothing changes.\n"
        ),
    )


def forgot_password(
    db: Database, config: PortalConfig, messenger: Messenger, body: ForgotPassword
) -> RecoveryStarted:
    address = body.email.casefold()
    token = secrets.token_urlsafe(32)
    with db.write() as session:
        account = session.scalar(
            select(PatientAccount).where(
                PatientAccount.email == address, PatientAccount.active.is_(True)
            )
        )
        if account is not None:
            session.add(
                PasswordResetToken(
                    account_id=account.id,
                    email=address,
                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    expires_at=utcnow() + config.password_reset_ttl,
                )
            )
    if account is not None:
        minutes = int(config.password_reset_ttl.total_seconds() // 60)
        send_throttled(
            db, config, messenger, address, _reset_email(config, address, token, minutes)
        )
        log.info("password reset sent for account %s", account.id)
    return RecoveryStarted(message=RESET_SENT)


def _remove_registrants_links(session: Session, account: PatientAccount, now: datetime) -> None:
    links = session.scalars(
        select(AccountLink).where(
            AccountLink.account_id == account.id, AccountLink.revoked_at.is_(None)
        )
    ).all()
    for link in links:
        link.revoked_at = now
        audit.record(
            session,
            link.practice_id,
            audit.Actor("patient", account.id, "address owner"),
            "account.link_removed",
            "account",
            account.id,
            patient_id=link.patient_id,
            details={"reason": "unconfirmed address reclaimed by its owner"},
        )
    session.execute(
        update(PendingConnect)
        .where(
            PendingConnect.account_id == account.id,
            PendingConnect.used_at.is_(None),
            PendingConnect.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )


def reset_password(db: Database, security: Security, body: PasswordReset) -> PasswordResetDone:
    token_hash = hashlib.sha256(body.token.encode()).hexdigest()
    with db.read() as session:
        found = session.execute(
            select(PasswordResetToken, PatientAccount)
            .join(PatientAccount, PatientAccount.id == PasswordResetToken.account_id)
            .where(PasswordResetToken.token_hash == token_hash)
        ).first()
    now = utcnow()
    if found is None or found[0].used_at is not None or found[0].expires_at <= now:
        raise Unprocessable(BAD_RESET_LINK)
    token, account = found
    if account.email != token.email:
        raise Unprocessable(BAD_RESET_LINK)  # the address moved since the link was sent
    _check_password(body.new_password, account)
    new_hash = security.passwords.hash(body.new_password)
    unconfirmed = account.email_confirmed_at is None
    with db.write() as session:
        claimed = session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.id == token.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
            .returning(PasswordResetToken.id)
        ).scalar_one_or_none()
        if claimed is None:
            raise Unprocessable(BAD_RESET_LINK)
        row = session.get_one(PatientAccount, account.id)
        if unconfirmed and row.username is not None:
            # The account's holder proved who they are with an office code; the address's owner
            # proved only the address. The address leaves the account; the account stays theirs.
            row.email = None
            # Its confirmation link must not attach the address again later.
            session.execute(
                update(EmailToken)
                .where(EmailToken.account_id == row.id, EmailToken.used_at.is_(None))
                .values(used_at=now)
            )
            log.info("unconfirmed address released from account %s", row.id)
            return PasswordResetDone(
                message="This address is no longer on the account someone else registered "
                "with it. You can now create your own account with it.",
                password_set=False,
                reclaimed=True,
            )
        if unconfirmed:
            _remove_registrants_links(session, row, now)
        row.email_confirmed_at = now  # the link reached the address: it is confirmed
        _set_password(session, row, new_hash)
    log.info("password reset for account %s", account.id)
    return PasswordResetDone(
        message=(
            "Your password is set and the account is yours; connect it to your practice again."
            if unconfirmed
            else "Your password is set. Sign in with it."
        ),
        password_set=True,
        reclaimed=unconfirmed,
    )


# --------------------------------------------------------------------------- username accounts


def _questions_key(username: str) -> str:
    return throttle_key("recovery-questions", username, "")


def _questions_exhausted(session: Session, config: PortalConfig, username: str) -> bool:
    row = session.get(LoginThrottle, _questions_key(username))
    return (
        row is not None
        and row.failures >= config.recovery_question_max_failures
        and utcnow() - row.window_started_at <= config.recovery_question_window
    )


def _stand_in_questions(key: bytes, username: str) -> list[SecurityQuestion]:
    """Three questions that look like a real account's, the same every time for a username."""
    ranked = sorted(
        SECURITY_QUESTIONS,
        key=lambda q: hmac.new(key, f"{username}\x00{q.id}".encode(), hashlib.sha256).digest(),
    )
    return sorted(ranked[:3], key=lambda q: q.id)


def recovery_questions(db: Database, config: PortalConfig, username: str) -> RecoveryQuestions:
    login = username.casefold()
    with db.read() as session:
        rows = session.execute(
            select(SecurityAnswer.question_id)
            .join(PatientAccount, PatientAccount.id == SecurityAnswer.account_id)
            .where(PatientAccount.username == login, PatientAccount.active.is_(True))
            .order_by(SecurityAnswer.position)
        ).all()
    by_id = {q.id: q for q in SECURITY_QUESTIONS}
    if len(rows) == 3:
        return RecoveryQuestions(questions=[by_id[r.question_id] for r in rows])
    return RecoveryQuestions(questions=_stand_in_questions(config.resolved_secret_key(), login))


def recover_with_answers(
    db: Database, security: Security, config: PortalConfig, body: RecoveryAnswers
) -> RecoveryStarted:
    login = body.username.casefold()
    if any(answer.question_id not in QUESTION_IDS for answer in body.answers):
        raise Unprocessable("Unknown security question; answer the three questions shown.")
    with db.read() as session:
        if _questions_exhausted(session, config, login):
            raise TooManyAttempts(
                QUESTIONS_EXHAUSTED, int(config.recovery_question_window.total_seconds())
            )
        account = session.scalar(
            select(PatientAccount).where(
                PatientAccount.username == login, PatientAccount.active.is_(True)
            )
        )
        stored = (
            {
                row.question_id: row.answer_hash
                for row in session.scalars(
                    select(SecurityAnswer).where(SecurityAnswer.account_id == account.id)
                )
            }
            if account is not None
            else {}
        )
    # Every answer is verified (an unknown username burns the same hashing time) before judging.
    results = [
        security.passwords.verify(stored.get(answer.question_id), answer_key(answer.answer))
        for answer in body.answers
    ]
    distinct = len({answer.question_id for answer in body.answers}) == 3
    if account is None or len(stored) != 3 or not distinct or not all(results):
        record_failure(
            db,
            config,
            _questions_key(login),
            max_failures=config.recovery_question_max_failures,
            window=config.recovery_question_window,
        )
        log.info("security-question recovery failed")
        raise Unauthorized(WRONG_ANSWERS)
    _check_password(body.new_password, account)
    new_hash = security.passwords.hash(body.new_password)
    with db.write() as session:
        _set_password(session, session.get_one(PatientAccount, account.id), new_hash)
    log.info("account %s recovered with its security questions", account.id)
    return RecoveryStarted(message="Your password is set. Sign in with it.")


def recover_with_code(
    db: Database,
    security: Security,
    hasher: CodeHasher,
    config: PortalConfig,
    body: RecoveryWithCode,
    client: str,
) -> RecoveryStarted:
    """A fresh "register" code of the account holder's own record proves who is asking."""
    login = body.username.casefold()
    with db.read() as session:
        practice_id = practice_by_code(session, body.practice_code).id
        address_key = code_throttle_key(practice_id, client)
        raise_if_locked(session, address_key, what="wrong security codes from this address")
        account = session.scalar(
            select(PatientAccount).where(
                PatientAccount.username == login, PatientAccount.active.is_(True)
            )
        )
    if account is not None:
        _check_password(body.new_password, account)
    new_hash = security.passwords.hash(body.new_password)
    with db.write() as session:
        check = check_code(session, hasher, practice_id, body.security_code, "register")
        failure = check.error
        if failure is None:
            assert check.row is not None
            holder = (
                session.scalar(
                    select(AccountLink.id).where(
                        AccountLink.account_id == account.id,
                        AccountLink.patient_id == check.row.patient_id,
                        AccountLink.relationship == "self",
                        AccountLink.revoked_at.is_(None),
                    )
                )
                if account is not None
                else None
            )
            actor = audit.Actor("patient", account.id if account else "", "account recovery")
            if holder is None:
                security_codes.record_wrong_attempt(session, check.row, config, actor, "account")
                failure = Unprocessable(CODE_NOT_FOR_ACCOUNT)
            else:
                assert account is not None
                row = session.get_one(PatientAccount, account.id)
                _set_password(session, row, new_hash)
                security_codes.mark_used(session, check.row, row.id, actor)
                audit.record(
                    session,
                    practice_id,
                    actor,
                    "account.recovered",
                    "account",
                    row.id,
                    patient_id=check.row.patient_id,
                    details={"method": "security_code", "security_code_id": check.row.id},
                )
                # The questions work again after the office vouched for the holder.
                session.execute(
                    update(LoginThrottle)
                    .where(LoginThrottle.key_hash == _questions_key(login))
                    .values(failures=0)
                )
    if failure is not None:
        if check.unknown:
            count_unknown_code(db, config, address_key)
        raise failure
    log.info("account %s recovered with an office code", account.id if account else "")
    return RecoveryStarted(message="Your password is set. Sign in with it.")
