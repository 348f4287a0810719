"""Security codes as the desk knows them: a local copy of the portal's list, fed by the change feed.

The full code never reaches this table: the portal returns it once, in the answer to the issuing
call, and the desk keeps it in memory only while the code panel is open. What is stored here is the
portal's `SecurityCodeOut`: status, hint ("•••• TW9R"), who issued it, expiry.

A code is "expired" when the portal said so or when it is still "active" past `expires_at`: the
portal does not announce expiry through the feed (nothing changes at that instant), so lists and
filters compute it from the clock.

Statuses only move forward: active -> used / revoked / locked / expired. An "active" snapshot that
arrives after the desk already recorded a later status (the revoke answer came back before the feed
delivered the issuing item) does not bring the code back to life.

A used code can still be revoked (it reached the wrong person): it stays "used", because the link
it made stays until a manager revokes that link, and gains `revoked_at`. It is listed under both
the "used" and the "revoked" filters, and shown as "Used, revoked".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, Integer, Select, String, case, literal, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_registration import SecurityCodeOut
from visitdesk.desktop.models.bulk import delete_where_in
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.schema import Base, Patient, table_of

#: Feed kind of security code items.
KIND = "security_code"
STATUSES = ("active", "used", "expired", "revoked", "locked")
#: Most codes one list shows; older ones are reached by filtering by patient or status.
LIST_LIMIT = 500


class SecurityCode(Base):
    """One security code issued by the practice (portal id); never the code itself."""

    __tablename__ = "security_codes"
    __table_args__ = (
        Index(None, "issued_at"),
        Index(None, "patient_id", "issued_at"),
        Index(None, "status", "issued_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    relationship: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    hint: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)


_FIELDS = (
    "patient_id",
    "purpose",
    "relationship",
    "hint",
    "issued_at",
    "issued_by",
    "expires_at",
    "used_at",
    "revoked_at",
    "failed_attempts",
)


@dataclass(frozen=True)
class SecurityCodeRow:
    """One line of the desk's list of codes, with the patient's name when it is cached here."""

    id: str
    patient_id: str
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    purpose: str
    relationship: str
    #: As shown: "expired" for an active code past its expiry.
    status: str
    hint: str
    issued_at: datetime
    issued_by: str
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    failed_attempts: int

    @property
    def patient_name(self) -> str:
        if not self.last_name and not self.first_name:
            return "(patient not yet synced)"
        return f"{self.last_name or ''}, {self.first_name or ''}".strip(", ")

    @property
    def revoked_after_use(self) -> bool:
        return self.status == "used" and self.revoked_at is not None

    @property
    def can_revoke(self) -> bool:
        """Active codes, and used ones not yet revoked (which flags the link they made)."""
        return self.status == "active" or (self.status == "used" and self.revoked_at is None)


# --------------------------------------------------------------------------- writing


def _row(record: SecurityCodeOut) -> dict[str, Any]:
    row = {field: getattr(record, field) for field in _FIELDS}
    row["id"] = record.id
    row["status"] = record.status
    return row


def upsert_codes(session: Session, records: Sequence[SecurityCodeOut]) -> None:
    """Write portal snapshots of codes, never moving a status back to "active"."""
    if not records:
        return
    table = table_of(SecurityCode)
    rows = [_row(r) for r in records]
    for row in rows:
        statement = sqlite_insert(table).values(row)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={
                **{field: excluded[field] for field in _FIELDS},
                "status": case(
                    (
                        (excluded.status == "active") & (table.c.status != "active"),
                        table.c.status,
                    ),
                    else_=excluded.status,
                ),
            },
        )
        session.execute(statement)


def apply_security_codes(session: Session, items: list[ChangeItem]) -> None:
    upserts = [SecurityCodeOut.model_validate(i.data) for i in items if i.op == "upsert"]
    deletes = [i.id for i in items if i.op == "delete"]
    delete_where_in(session, table_of(SecurityCode), "id", deletes)
    upsert_codes(session, upserts)


# --------------------------------------------------------------------------- reading


def _shown_status(now: datetime) -> Any:
    return case(
        ((SecurityCode.status == "active") & (SecurityCode.expires_at <= now), literal("expired")),
        else_=SecurityCode.status,
    )


def _select(moment: datetime) -> Select[*tuple[Any, ...]]:
    return select(
        SecurityCode.id,
        SecurityCode.patient_id,
        Patient.first_name,
        Patient.last_name,
        Patient.date_of_birth,
        SecurityCode.purpose,
        SecurityCode.relationship,
        _shown_status(moment),
        SecurityCode.hint,
        SecurityCode.issued_at,
        SecurityCode.issued_by,
        SecurityCode.expires_at,
        SecurityCode.used_at,
        SecurityCode.revoked_at,
        SecurityCode.failed_attempts,
    ).outerjoin(Patient, Patient.portal_id == SecurityCode.patient_id)


def list_codes(
    session: Session,
    *,
    status: str | None = None,
    patient_id: str | None = None,
    limit: int = LIST_LIMIT,
    now: datetime | None = None,
) -> list[SecurityCodeRow]:
    """Codes newest first, optionally only one status (as shown) and/or one patient (portal id)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    moment = now or utcnow()
    query = (
        _select(moment).order_by(SecurityCode.issued_at.desc(), SecurityCode.id.desc()).limit(limit)
    )
    if patient_id is not None:
        query = query.where(SecurityCode.patient_id == patient_id)
    # Written against the stored columns (not the shown status) so that the indexes serve them.
    if status == "active":
        query = query.where(SecurityCode.status == "active", SecurityCode.expires_at > moment)
    elif status == "expired":
        query = query.where(
            (SecurityCode.status == "expired")
            | ((SecurityCode.status == "active") & (SecurityCode.expires_at <= moment))
        )
    elif status == "revoked":
        query = query.where(
            (SecurityCode.status == "revoked")
            | ((SecurityCode.status == "used") & SecurityCode.revoked_at.is_not(None))
        )
    elif status is not None:
        query = query.where(SecurityCode.status == status)
    return [SecurityCodeRow(*row) for row in session.execute(query)]


def get_code(session: Session, code_id: str, now: datetime | None = None) -> SecurityCodeRow | None:
    row = session.execute(_select(now or utcnow()).where(SecurityCode.id == code_id)).first()
    return None if row is None else SecurityCodeRow(*row)


def mark_revoked(session: Session, code_id: str, revoked_at: datetime) -> None:
    """The portal revoked `code_id` (as part of a reissue, whose answer names only the new code)."""
    row = session.get(SecurityCode, code_id)
    if row is not None and row.status == "active":
        row.status = "revoked"
        row.revoked_at = revoked_at
