"""The local store's tables: SQLAlchemy 2 typed ORM.

The desktop keeps a cache of the portal (patients, appointments, check-ins, fed by the change feed),
the practice records imported from the practice management system (the same patient and appointment
tables, before the portal has assigned them ids), and the outbox of staff actions not yet accepted
by the portal. Changing anything here needs a new Alembic revision in `migrations/versions/`.

These are the core tables; the features' tables live beside their queries (`billing/tables.py`,
`codes.py`, `registrations.py`, `patient_search.py`). `tables.py` lists every one of them, and it is
the only place that brings them together into the complete metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, Boolean, Date, Index, Integer, MetaData, String, Table, Text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from visitdesk.desktop.models.coltypes import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class SyncState(Base):
    """Key-value pairs: feed position (`last_seq`), `last_sync_at`, practice metadata."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Patient(Base):
    """A patient record: imported locally (no `portal_id` yet) or received from the portal."""

    __tablename__ = "patients"
    __table_args__ = (
        Index(None, "last_name", "first_name"),
        Index(None, "date_of_birth"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    mrn: Mapped[str] = mapped_column(String(32), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1), default="U")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(12), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime]


class Appointment(Base):
    """An appointment keyed by the practice management system's id (`external_id`)."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index(None, "starts_at"),
        Index(None, "patient_mrn"),
        Index(None, "patient_portal_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    patient_mrn: Mapped[str] = mapped_column(String(32))
    patient_portal_id: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer, default=15)
    provider: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    #: The portal's no-show mark (set by a desk; an arrival clears it).
    no_show_at: Mapped[datetime | None]
    no_show_by: Mapped[str | None] = mapped_column(String(200))


class CheckIn(Base):
    """An "I'm Here" check-in; exists only on the portal, so keyed by the portal's id.

    `patient_id` and `appointment_id` are portal ids; no foreign keys, because the feed may deliver
    a check-in for a patient this workstation has not cached (the board then shows it without a name).
    """

    __tablename__ = "checkins"
    __table_args__ = (
        Index(None, "arrived_at"),
        Index(None, "patient_id"),
        Index(None, "appointment_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[str | None] = mapped_column(String(64))
    arrived_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    status_changed_at: Mapped[datetime]
    status_changed_by: Mapped[str | None] = mapped_column(String(200))
    #: "app" (the patient's I'm Here) or "desk" (checked in by staff).
    source: Mapped[str] = mapped_column(String(8), default="app")


class OutboxEntry(Base):
    """A staff action waiting to be accepted by the portal; queued in `id` order and sent as
    `visitdesk.sync.push_order` allows (commuting bulk batches at once, anything else in order)."""

    __tablename__ = "outbox"
    # AUTOINCREMENT: an id is never reused after its item is sent, so a late `outbox_sent(id)`
    # from the push worker cannot remove a newer action.
    __table_args__ = (Index(None, "failed", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    # A staff command of `visitdesk.api.commands` by name, with its path parameters: the client
    # turns them into a URL when it sends the item, so no URL is stored here.
    command: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, str]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: For a failed item: whether sending it again can succeed (see `sync.errors.may_succeed_again`).
    retryable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    next_attempt_at: Mapped[datetime | None]
    # Last: a bulk body fills a chain of overflow pages, and SQLite walks that chain to reach
    # any column stored after it (revision 0011 moved it here).
    body: Mapped[dict[str, Any] | None]


def table_of(entity: type[Base]) -> Table:
    """The Core table of a mapped class, for bulk statements (typed, unlike `__table__`)."""
    return cast(Table, entity.__table__)
