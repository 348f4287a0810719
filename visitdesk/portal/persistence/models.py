"""The portal's tables (SQLAlchemy 2 typed ORM), one metadata with a naming convention.

Ids are random UUID strings. Every practice-scoped row carries ``practice_id`` so queries can be
scoped without joins. Some tables (practice settings, account links with relationships, patient
accounts by username) anticipate features that are not served yet.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from itertools import accumulate
from operator import add

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from visitdesk.portal.persistence.db import Base, UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


def new_ids(count: int) -> Iterator[str]:
    """`count` ids for a bulk write, in increasing order: UUIDs laid out as version 7 (RFC 9562:
    the time in milliseconds, then 74 random bits), text like :func:`new_id`'s.

    Ordered ids go in at the end of a table's primary-key index. Random ones each landed on a
    different page of it: at a million ledger lines a 5,000-line batch rewrote (and logged) most
    of the index, and the push slowed down as the table grew.

    The random bits follow RFC 9562's counter method: a batch's ids share the time and the first
    26 random bits, and the last 48 bits start at a random value and grow by a random step of
    1 to 65,536 from one id to the next. So the ids come out ordered without a sort, are built
    by C loops only (a tenth of what working out each id on its own cost), and none can be told
    from the one before it. The random bits come from one read: each ``uuid4()`` makes its own
    system call, giving up the interpreter lock, and with a worker's other threads busy getting
    it back took longer than the rest of the upsert."""
    if not 0 <= count < 1 << 31:
        raise ValueError(f"cannot make {count} ids at once")
    random = os.urandom(10 + 2 * count)
    millis = time.time_ns() // 1_000_000
    version_and_a = 0x7000 | int.from_bytes(random[0:2]) & 0xFFF
    variant_and_b = 0x8000 | int.from_bytes(random[2:4]) & 0x3FFF
    head = f"{millis >> 16 & 0xFFFFFFFF:08x}-{millis & 0xFFFF:04x}-{version_and_a:04x}-"
    head += f"{variant_and_b:04x}-"
    # Room above the start for `count` steps of up to 65,536 each.
    start = int.from_bytes(random[4:10]) % ((1 << 48) - (count + 1) * 0x10000)
    steps = memoryview(random[10:]).cast("H")  # each id adds its step, and 1
    lows = map(add, accumulate(steps), range(start + 1, start + 1 + count))
    return map(head.__add__, map("{:012x}".format, lows))


class Practice(Base):
    __tablename__ = "practices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    #: Highest sequence number handed out in this practice's change feed.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PracticeSetting(Base):
    """Per-practice options (e.g. security code lifetime); values are JSON text."""

    __tablename__ = "practice_settings"

    practice_id: Mapped[str] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("practice_id", "username"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    #: Stored case-folded; sign-in compares case-insensitively.
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when a manager resets the password to a one-time password: until the user picks a
    #: new one, a session of theirs may do nothing else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffSession(Base):
    """One sign-in: the family of refresh tokens that rotate from it."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    staff_id: Mapped[str] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoke_reason: Mapped[str | None] = mapped_column(String(64), default=None)


class StaffRefreshToken(Base):
    """A refresh token, kept only as its SHA-256; ``used_at`` is set when it rotates."""

    __tablename__ = "staff_refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("staff_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: The token issued when this one was used (its successor).
    replaced_by: Mapped[str | None] = mapped_column(String(36), default=None)
    #: When this token, already used, was accepted once more inside the reuse grace window.
    grace_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class LoginThrottle(Base):
    """Failed sign-ins per (kind, login, client address), keyed by a hash of that triple."""

    __tablename__ = "login_throttle"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("practice_id", "mrn"),
        Index("ix_patients_practice_name", "practice_id", "last_name", "first_name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    mrn: Mapped[str] = mapped_column(String(32))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str] = mapped_column(String(200), default="")
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1), default="U")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(12), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("practice_id", "external_id"),
        Index("ix_appointments_practice_starts", "practice_id", "starts_at"),
        Index("ix_appointments_patient_starts", "patient_id", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=15)
    provider: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the desk marked the patient a no-show; an arrival later clears it.
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    no_show_by: Mapped[str | None] = mapped_column(String(200), default=None)
    no_show_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)


class PatientAccount(Base):
    """A portal login; registered by email, or by username with a security code."""

    __tablename__ = "patient_accounts"
    #: The manager's list of linked accounts pages through accounts in name order.
    __table_args__ = (Index("ix_patient_accounts_name", "last_name", "first_name", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: Case-folded; NULL for username accounts that proceeded without email.
    email: Mapped[str | None] = mapped_column(String(254), unique=True, default=None)
    #: Case-folded; NULL for email accounts.
    username: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The last successful sign-in (None: never signed in since the portal began recording it).
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Set while an office manager has locked the account (``active`` is then false).
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    locked_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)
    lock_reason: Mapped[str] = mapped_column(String(500), default="")


class PatientSession(Base):
    """One patient sign-in; its access tokens carry its id, so revoking it ends them at once."""

    __tablename__ = "patient_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AccountLink(Base):
    """A patient record an account may act for (self, child, spouse...), revocable by staff."""

    __tablename__ = "account_links"
    __table_args__ = (
        UniqueConstraint("account_id", "patient_id"),
        Index("ix_account_links_practice_account", "practice_id", "account_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    #: The patient's relationship to the account holder (self, child, spouse ...).
    relationship: Mapped[str] = mapped_column(String(32), default="self")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: How the link was made: "security_code", "safe_health_code", "staff_match" ("" for links
    #: made before the portal recorded it).
    method: Mapped[str] = mapped_column(String(16), default="")
    security_code_id: Mapped[str | None] = mapped_column(String(36), default=None)
    #: The staff member who allowed it: the code's issuer or the one who matched.
    made_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)
    made_by: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)
    revoke_reason: Mapped[str] = mapped_column(String(500), default="")


def _prefix_index(
    name: str,
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    *leading: InstrumentedAttribute[str],
) -> Index:
    """An index of `lower(column)` (after `leading` columns) that a "starts with" search can
    seek in: a range on SQLite (binary order), LIKE 'term%' on PostgreSQL (text_pattern_ops,
    whatever the database's collation). See `portal/links/listing.py`."""
    label = f"{column.key}_lower"
    return Index(
        name,
        *leading,
        func.lower(column).label(label),
        postgresql_ops={label: "text_pattern_ops"},
    )


#: The manager's linked-accounts search: each word is the start of one of these.
LINK_SEARCH_INDEXES = (
    _prefix_index("ix_patient_accounts_first_lower", PatientAccount.first_name),
    _prefix_index("ix_patient_accounts_last_lower", PatientAccount.last_name),
    _prefix_index("ix_patient_accounts_email_lower", PatientAccount.email),
    _prefix_index("ix_patient_accounts_username_lower", PatientAccount.username),
    _prefix_index("ix_patients_first_lower", Patient.first_name, Patient.practice_id),
    _prefix_index("ix_patients_last_lower", Patient.last_name, Patient.practice_id),
    _prefix_index("ix_patients_mrn_lower", Patient.mrn, Patient.practice_id),
)


class CheckIn(Base):
    """An "I'm Here" tap and what the desk did with it."""

    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_patient_day", "patient_id", "local_date"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), default=None
    )
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="SET NULL"), default=None
    )
    #: The calendar day of the tap in the practice's timezone ("same day" duplicate detection).
    local_date: Mapped[date] = mapped_column(Date)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_changed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    status_changed_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)
    #: The arrival chat the tap began (a ``message_threads`` row; no FK: the tables refer both ways).
    thread_id: Mapped[str | None] = mapped_column(String(36), default=None)
    #: "app" (the patient's I'm Here) or "desk" (checked in by staff).
    source: Mapped[str] = mapped_column(String(8), default="app")


class ArrivalAttempt(Base):
    """An I'm Here tap the portal turned away (outside the arrival window, no appointment)."""

    __tablename__ = "arrival_attempts"
    __table_args__ = (Index("ix_arrival_attempts_practice_at", "practice_id", "attempted_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), default=None
    )
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="SET NULL"), default=None
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(16))


class Change(Base):
    """One item of a practice's change feed; ``data`` is the kind's *Out model as JSON text."""

    __tablename__ = "changes"

    practice_id: Mapped[str] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    op: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(36))
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyRecord(Base):
    """The first successful response to an idempotent call, replayed for repeats of its key.

    ``scope`` is ``staff:<practice id>:<staff id>`` or ``patient:<account id>``.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    response_body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
