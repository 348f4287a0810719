"""Tables of the registration flows: security codes, Safe Health Codes, the registration queue,
email confirmations, security answers and the hash-chained audit trail.

No column ever holds a code in clear: security codes and Safe Health Codes are kept as keyed
hashes (HMAC-SHA256 with the portal secret), email tokens as SHA-256, answers as argon2id.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from visitdesk.portal.persistence.db import Base, UTCDateTime, utcnow
from visitdesk.portal.persistence.models import Patient, new_id

#: Connect looks records up by practice and date of birth, then compares names.
Index("ix_patients_practice_dob", Patient.practice_id, Patient.date_of_birth)


class SecurityCode(Base):
    """A code the office hands a patient to register (purpose "register") or link ("link")."""

    __tablename__ = "security_codes"
    __table_args__ = (
        Index("ix_security_codes_practice_issued", "practice_id", "issued_at"),
        Index("ix_security_codes_patient", "patient_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    relationship: Mapped[str] = mapped_column(String(16), default="self")
    #: HMAC-SHA256 of (practice id, normalised code); the lookup key on redemption.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The last group only, for the desk's list ("•••• TW9R").
    hint: Mapped[str] = mapped_column(String(16))
    #: Link codes: the case-folded email or username of the only account that may redeem it.
    account_login: Mapped[str | None] = mapped_column(String(254), default=None)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_staff_id: Mapped[str] = mapped_column(String(36))
    issued_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    used_by_account_id: Mapped[str | None] = mapped_column(String(36), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Set on a code revoked by a reissue: the code that replaced it.
    replaced_by_id: Mapped[str | None] = mapped_column(String(36), default=None)


class PendingConnect(Base):
    """A connect-to-practice in progress: a Safe Health Code sent to the record's contact.

    Nothing is linked until the right code is entered; an abandoned row simply expires.
    """

    __tablename__ = "pending_connects"
    __table_args__ = (Index("ix_pending_connects_account", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("patient_accounts.id", ondelete="CASCADE"))
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    #: HMAC-SHA256 of (connect id, six digits).
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Registration(Base):
    """A connect request no record matched uniquely: it waits in the practice's queue."""

    __tablename__ = "registrations"
    __table_args__ = (
        Index("ix_registrations_practice_status", "practice_id", "status", "created_at"),
        Index("ix_registrations_account", "account_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("patient_accounts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    postal_code: Mapped[str] = mapped_column(String(12), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id", ondelete="SET NULL"), default=None
    )
    reason: Mapped[str] = mapped_column(String(500), default="")


class EmailToken(Base):
    """An email-confirmation token, kept as its SHA-256 (it carries 192 random bits)."""

    __tablename__ = "email_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class PasswordResetToken(Base):
    """A forgot-password token mailed to an account's address, kept as its SHA-256."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    #: The address it was sent to: using it proves the reader owns that address.
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class SecurityAnswer(Base):
    """One of an account's three security questions; set once, never changed."""

    __tablename__ = "security_answers"
    __table_args__ = (UniqueConstraint("account_id", "question_id"),)

    account_id: Mapped[str] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[str] = mapped_column(String(16))
    answer_hash: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditHead(Base):
    """The newest link of a practice's audit chain; its row lock serialises appends."""

    __tablename__ = "audit_heads"

    practice_id: Mapped[str] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """One append-only audit entry; ``row_hash`` = SHA-256(prev_hash, canonical content)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_practice_occurred", "practice_id", "occurred_at"),)

    practice_id: Mapped[str] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(36), default="")
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(36))
    patient_id: Mapped[str | None] = mapped_column(String(36), default=None)
    #: JSON object text with sorted keys: ids and facts, never a code or a password.
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A head of a practice's audit chain the portal verified and signed (Ed25519, key file
    outside the database). Someone who rewrites the chain in the database cannot re-sign these,
    so a chain that no longer passes through a checkpoint is caught."""

    __tablename__ = "audit_checkpoints"

    practice_id: Mapped[str] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    row_hash: Mapped[str] = mapped_column(String(64))
    #: Base64 of the Ed25519 signature over `checkpoint_message(practice_id, seq, row_hash)`.
    signature: Mapped[str] = mapped_column(String(128))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
