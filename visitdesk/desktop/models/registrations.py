"""The registration queue as the desk keeps it: portal registrations fed by the change feed, and
the decisions staff take here (match or reject), recorded with their outbox item in one
transaction.

`status` is always the portal's word. A decision taken here is kept beside it (`decision`,
`decision_outbox_id`, `decided_here_at`) and takes the registration out of this workstation's
queue at once (optimistically), while the outbox delivers it. The portal's answer comes back
through the feed and then moves `status` on every workstation.

A decision the portal refused (its outbox item failed) puts the registration back in the queue,
marked so the desk can say so. A decision whose outbox item is gone (sent, or discarded by the
user) while the portal still says "pending" is trusted for `UNCONFIRMED_GRACE`: the feed normally
confirms a sent decision within seconds; after that the registration shows again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Index, Integer, String, and_, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.api.commands import MATCH_REGISTRATION, REJECT_REGISTRATION
from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_registration import (
    REJECT_REASONS,
    RegistrationMatch,
    RegistrationOut,
    RegistrationReject,
)
from visitdesk.desktop.models import outbox
from visitdesk.desktop.models.bulk import apply_feed_rows
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.desktop.models.schema import Base, table_of
from visitdesk.sync.store import OutboxItem

#: Feed kind of registration items.
KIND = "registration"
#: How long a decision that left the outbox hides its registration while the portal's feed has
#: not yet confirmed it.
UNCONFIRMED_GRACE = timedelta(minutes=5)
#: Most registrations one queue listing returns (oldest first); the count is exact.
QUEUE_LIMIT = 500


class Registration(Base):
    """A portal registration (portal id) and the decision taken on it here, if any."""

    __tablename__ = "registrations"
    __table_args__ = (Index(None, "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date]
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    postal_code: Mapped[str] = mapped_column(String(12), default="")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500), default="")
    #: "matched" or "rejected" when decided on this workstation and not yet confirmed.
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_outbox_id: Mapped[int | None] = mapped_column(Integer)
    decided_here_at: Mapped[datetime | None]


_FEED_FIELDS = (
    "account_id",
    "status",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "postal_code",
    "created_at",
    "decided_at",
    "decided_by",
    "patient_id",
    "reason",
)


@dataclass(frozen=True)
class QueueRow:
    """One registration waiting for a decision."""

    id: str
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    phone: str
    postal_code: str
    created_at: datetime
    #: The decision taken here was refused by the portal (see the outbox).
    decision_refused: bool = False

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"


# --------------------------------------------------------------------------- feed


def apply_registrations(session: Session, items: list[ChangeItem]) -> None:
    apply_feed_rows(session, table_of(Registration), items, RegistrationOut, _FEED_FIELDS)


# --------------------------------------------------------------------------- the queue


def _waiting(now: datetime) -> ColumnElement[bool]:
    """Pending on the portal, and not (or no longer) hidden by a decision taken here."""
    return outbox.awaiting_decision(
        Registration.status == "pending",
        Registration.decision_outbox_id,
        Registration.decided_here_at,
        now,
        UNCONFIRMED_GRACE,
    )


def queue(
    session: Session, limit: int = QUEUE_LIMIT, now: datetime | None = None
) -> list[QueueRow]:
    """Registrations waiting for a decision, oldest first."""
    moment = now or utcnow()
    refused = outbox.decision_refused(Registration.decision_outbox_id)
    rows = session.execute(
        select(
            Registration.id,
            Registration.first_name,
            Registration.last_name,
            Registration.date_of_birth,
            Registration.email,
            Registration.phone,
            Registration.postal_code,
            Registration.created_at,
            and_(Registration.decision.is_not(None), refused),
        )
        .where(_waiting(moment))
        .order_by(Registration.created_at, Registration.id)
        .limit(limit)
    )
    return [QueueRow(*row[:8], decision_refused=bool(row[8])) for row in rows]


def queue_count(session: Session, now: datetime | None = None) -> int:
    moment = now or utcnow()
    return session.scalar(select(func.count()).where(_waiting(moment))) or 0


def get(session: Session, registration_id: str) -> Registration | None:
    return session.get(Registration, registration_id)


# --------------------------------------------------------------------------- decisions


def _pending_here(session: Session, registration_id: str) -> Registration:
    row = session.get(Registration, registration_id)
    if row is None:
        raise NotFoundError("This registration is not on this workstation.")
    if row.status != "pending":
        raise ValueError("This registration was already decided.")
    return row


def _decide(session: Session, row: Registration, decision: str, item: OutboxItem) -> OutboxItem:
    row.decision = decision
    row.decision_outbox_id = item.id
    row.decided_here_at = utcnow()
    return item


def record_match(
    session: Session, registration_id: str, patient_id: str, score: float, note: str = ""
) -> OutboxItem:
    """Match here (the registration leaves the queue at once) and queue the call, in the
    caller's write transaction."""
    body = RegistrationMatch(patient_id=patient_id, score=score, note=note)
    row = _pending_here(session, registration_id)
    item = outbox.enqueue(
        session,
        MATCH_REGISTRATION,
        {"registration_id": registration_id},
        body,
        f"Match registration of {row.first_name} {row.last_name} to a patient record",
    )
    return _decide(session, row, "matched", item)


def record_reject(
    session: Session, registration_id: str, reason_code: str, text: str = ""
) -> OutboxItem:
    """Reject here with a template reason (+ optional words) and queue the call, in the caller's
    write transaction."""
    if reason_code not in REJECT_REASONS:
        raise ValueError(f"unknown rejection reason {reason_code!r}")
    body = RegistrationReject(reason_code=reason_code, text=text)  # type: ignore[arg-type]
    row = _pending_here(session, registration_id)
    item = outbox.enqueue(
        session,
        REJECT_REGISTRATION,
        {"registration_id": registration_id},
        body,
        f"Reject registration of {row.first_name} {row.last_name}",
    )
    return _decide(session, row, "rejected", item)
