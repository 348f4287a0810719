"""myInfo as the desk keeps it: patients' demographic and insurance changes fed by the change
feed, the patients' insurance, and the decisions taken here (recorded with their outbox item in
one transaction).

`status` and each field's `decision` are always the portal's word. A decision taken here is kept
beside them (`decision`, `decision_outbox_id`, `decided_here_at`) and takes the change out of this
workstation's queue at once while the outbox delivers it; the portal's answer comes back through
the feed (the change, and the patient and insurance records it changed). A refused decision puts
the change back in the queue, as for registrations.

The export for the practice management system lists the accepted fields of changes the portal
confirmed and this workstation has not exported yet (`exported_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.api.commands import DECIDE_DEMOGRAPHIC_CHANGE
from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_myinfo import (
    CARD_FIELDS,
    FIELD_LABELS,
    INSURANCE_FIELDS,
    RECORD_FIELDS,
    DemographicChangeOut,
    DemographicDecision,
    InsuranceOut,
)
from visitdesk.desktop.models import outbox
from visitdesk.desktop.models.bulk import apply_feed_rows, chunks
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.desktop.models.schema import Base, Patient, table_of
from visitdesk.sync.store import OutboxItem

#: Feed kinds of myInfo changes and of patients' insurance.
KIND = "demographic_change"
INSURANCE_KIND = "insurance"
#: How long a decision that left the outbox hides its change while the feed has not confirmed it.
UNCONFIRMED_GRACE = timedelta(minutes=5)
#: Most changes one queue listing returns (oldest first).
QUEUE_LIMIT = 500


class DemographicChange(Base):
    """A patient's myInfo change (portal id) and the decision taken on it here, if any."""

    __tablename__ = "demographic_changes"
    __table_args__ = (Index(None, "status", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    account_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    #: The fields as the portal holds them: [{"field", "value", "decision"}, ...].
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Field -> "accepted"/"rejected" when decided on this workstation and not yet confirmed.
    decision: Mapped[dict[str, Any] | None]
    decision_outbox_id: Mapped[int | None] = mapped_column(Integer)
    decided_here_at: Mapped[datetime | None]
    #: When this workstation last put the change's accepted fields in an export.
    exported_at: Mapped[datetime | None]


class PatientInsurance(Base):
    """A patient's insurance as the portal holds it (patient's portal id)."""

    __tablename__ = "patient_insurance"

    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payer: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[str] = mapped_column(String(64), default="")
    group_number: Mapped[str] = mapped_column(String(64), default="")
    subscriber: Mapped[str] = mapped_column(String(200), default="")
    relationship: Mapped[str] = mapped_column(String(16), default="")
    card_front_image_id: Mapped[str] = mapped_column(String(64), default="")
    card_back_image_id: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime]


_CHANGE_FIELDS = (
    "patient_id",
    "account_name",
    "status",
    "submitted_at",
    "decided_at",
    "decided_by",
    "fields",
)
_INSURANCE_COLUMNS = (
    "payer",
    "member_id",
    "group_number",
    "subscriber",
    "relationship",
    "card_front_image_id",
    "card_back_image_id",
    "updated_at",
)


@dataclass(frozen=True)
class QueueRow:
    """One change waiting for a decision."""

    id: str
    patient_id: str
    patient_name: str
    mrn: str
    date_of_birth: date | None
    account_name: str
    submitted_at: datetime
    field_count: int
    #: The decision taken here was refused by the portal (see the outbox).
    decision_refused: bool = False


@dataclass(frozen=True)
class FieldRow:
    field: str
    label: str
    on_record: str
    value: str

    @property
    def is_card(self) -> bool:
        return self.field in CARD_FIELDS


@dataclass(frozen=True)
class ChangeDetail:
    change: QueueRow
    fields: list[FieldRow]


@dataclass(frozen=True)
class ExportRow:
    change_id: str
    decided_at: datetime | None
    mrn: str
    patient_name: str
    date_of_birth: date | None
    field: str
    value: str
    account_name: str
    decided_by: str


# --------------------------------------------------------------------------- feed


def apply_demographic_changes(session: Session, items: list[ChangeItem]) -> None:
    apply_feed_rows(
        session,
        table_of(DemographicChange),
        items,
        DemographicChangeOut,
        _CHANGE_FIELDS,
        derived=lambda record: {"fields": [f.model_dump() for f in record.fields]},
    )


def apply_insurance(session: Session, items: list[ChangeItem]) -> None:
    apply_feed_rows(
        session,
        table_of(PatientInsurance),
        items,
        InsuranceOut,
        _INSURANCE_COLUMNS,
        key="patient_id",
    )


# --------------------------------------------------------------------------- the queue


def _waiting(now: datetime) -> ColumnElement[bool]:
    return outbox.awaiting_decision(
        DemographicChange.status == "pending",
        DemographicChange.decision_outbox_id,
        DemographicChange.decided_here_at,
        now,
        UNCONFIRMED_GRACE,
    )


def _patient_name(first: str | None, last: str | None) -> str:
    if first is None or last is None:
        return "(record not on this workstation yet)"
    return f"{last}, {first}"


def _queue_query(now: datetime) -> Any:
    return (
        select(
            DemographicChange,
            Patient.first_name,
            Patient.last_name,
            Patient.mrn,
            Patient.date_of_birth,
            outbox.decision_refused(DemographicChange.decision_outbox_id),
        )
        .outerjoin(Patient, Patient.portal_id == DemographicChange.patient_id)
        .where(_waiting(now))
    )


def _queue_row(row: Any) -> QueueRow:
    change, first, last, mrn, born, refused = row
    return QueueRow(
        id=change.id,
        patient_id=change.patient_id,
        patient_name=_patient_name(first, last),
        mrn=mrn or "",
        date_of_birth=born,
        account_name=change.account_name,
        submitted_at=change.submitted_at,
        field_count=len(change.fields),
        decision_refused=change.decision_outbox_id is not None and bool(refused),
    )


def queue(
    session: Session, limit: int = QUEUE_LIMIT, now: datetime | None = None
) -> list[QueueRow]:
    """Changes waiting for a decision, oldest first."""
    query = _queue_query(now or utcnow()).order_by(
        DemographicChange.submitted_at, DemographicChange.id
    )
    return [_queue_row(row) for row in session.execute(query.limit(limit))]


def queue_count(session: Session, now: datetime | None = None) -> int:
    return session.scalar(select(func.count()).where(_waiting(now or utcnow()))) or 0


def on_record(session: Session, patient_id: str, names: list[str]) -> dict[str, str]:
    """The record's value of each field as this workstation holds it."""
    patient = session.scalar(select(Patient).where(Patient.portal_id == patient_id))
    insurance = session.get(PatientInsurance, patient_id)
    values: dict[str, str] = {}
    for name in names:
        if name in RECORD_FIELDS:
            values[name] = str(getattr(patient, name)) if patient is not None else ""
        else:
            values[name] = getattr(insurance, INSURANCE_FIELDS[name]) if insurance else ""
    return values


def detail(session: Session, change_id: str, now: datetime | None = None) -> ChangeDetail:
    row = session.execute(
        _queue_query(now or utcnow()).where(DemographicChange.id == change_id)
    ).first()
    if row is None:
        raise NotFoundError("This change is no longer waiting on this workstation.")
    change: DemographicChange = row[0]
    names = [f["field"] for f in change.fields]
    record = on_record(session, change.patient_id, names)
    fields = [
        FieldRow(
            f["field"], FIELD_LABELS.get(f["field"], f["field"]), record[f["field"]], f["value"]
        )
        for f in change.fields
    ]
    return ChangeDetail(_queue_row(row), fields)


# --------------------------------------------------------------------------- decisions


def record_decision(session: Session, change_id: str, decisions: dict[str, str]) -> OutboxItem:
    """Decide every field here (the change leaves the queue at once) and queue the call, in the
    caller's write transaction."""
    change = session.get(DemographicChange, change_id)
    if change is None:
        raise NotFoundError("This change is not on this workstation.")
    if change.status != "pending":
        raise ValueError("This change was already decided.")
    names = [f["field"] for f in change.fields]
    if set(decisions) != set(names) or not set(decisions.values()) <= {"accepted", "rejected"}:
        raise ValueError("Accept or reject every field before sending the decision.")
    body = DemographicDecision.model_validate({"decisions": decisions})
    accepted = sum(1 for value in decisions.values() if value == "accepted")
    item = outbox.enqueue(
        session,
        DECIDE_DEMOGRAPHIC_CHANGE,
        {"change_id": change_id},
        body,
        f"myInfo change: {accepted} of {len(names)} fields accepted",
    )
    change.decision = dict(decisions)
    change.decision_outbox_id = item.id
    change.decided_here_at = utcnow()
    return item


# --------------------------------------------------------------------------- export


def unexported(session: Session) -> tuple[list[ExportRow], list[str]]:
    """Accepted fields of confirmed decisions not exported here yet (oldest decision first),
    and the ids of the changes they come from (all-rejected changes included)."""
    rows = session.execute(
        select(
            DemographicChange,
            Patient.first_name,
            Patient.last_name,
            Patient.mrn,
            Patient.date_of_birth,
        )
        .outerjoin(Patient, Patient.portal_id == DemographicChange.patient_id)
        .where(DemographicChange.status == "decided", DemographicChange.exported_at.is_(None))
        .order_by(DemographicChange.decided_at, DemographicChange.id)
    )
    export: list[ExportRow] = []
    ids: list[str] = []
    for change, first, last, mrn, born in rows:
        ids.append(change.id)
        for f in change.fields:
            if f["decision"] != "accepted":
                continue
            export.append(
                ExportRow(
                    change_id=change.id,
                    decided_at=change.decided_at,
                    mrn=mrn or "",
                    patient_name=_patient_name(first, last),
                    date_of_birth=born,
                    field=f["field"],
                    value=f["value"],
                    account_name=change.account_name,
                    decided_by=change.decided_by or "",
                )
            )
    return export, ids


def mark_exported(session: Session, change_ids: list[str], when: datetime) -> None:
    table = table_of(DemographicChange)
    for part in chunks(change_ids):
        session.execute(update(table).where(table.c.id.in_(part)).values(exported_at=when))
