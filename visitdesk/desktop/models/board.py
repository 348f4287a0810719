"""The check-in board: who said "I'm Here", in arrival order, and the desk's status changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from visitdesk.api.commands import SET_CHECKIN_STATUS
from visitdesk.api.wire import CheckInOut, CheckInStatus, CheckInStatusUpdate
from visitdesk.desktop.models import outbox, reconcile
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.desktop.models.schema import Appointment, CheckIn, Patient
from visitdesk.sync.store import OutboxItem


@dataclass(frozen=True)
class CheckInRow:
    """One line of the board. Name and date of birth are None when the patient is not cached here;
    appointment fields are None for a walk-in or an appointment not cached here."""

    id: str
    patient_id: str
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    appointment_starts_at: datetime | None
    provider: str | None
    arrived_at: datetime
    status: CheckInStatus
    status_changed_at: datetime
    status_changed_by: str | None


#: Feed kind of check-in items.
KIND = reconcile.CHECKIN

_VERBS = {
    CheckInStatus.ACKNOWLEDGED: "Acknowledge",
    CheckInStatus.ROOMED: "Room",
    CheckInStatus.CANCELLED: "Cancel",
}


def _board_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            CheckIn.id,
            CheckIn.patient_id,
            Patient.first_name,
            Patient.last_name,
            Patient.date_of_birth,
            Appointment.starts_at,
            Appointment.provider,
            CheckIn.arrived_at,
            CheckIn.status,
            CheckIn.status_changed_at,
            CheckIn.status_changed_by,
        )
        .outerjoin(Patient, Patient.portal_id == CheckIn.patient_id)
        .outerjoin(Appointment, Appointment.portal_id == CheckIn.appointment_id)
    )


def _row(row: Row[*tuple[Any, ...]]) -> CheckInRow:
    return CheckInRow(
        id=row[0],
        patient_id=row[1],
        first_name=row[2],
        last_name=row[3],
        date_of_birth=row[4],
        appointment_starts_at=row[5],
        provider=row[6],
        arrived_at=row[7],
        status=CheckInStatus(row[8]),
        status_changed_at=row[9],
        status_changed_by=row[10],
    )


def checkins_between(session: Session, start: datetime, end: datetime) -> list[CheckInRow]:
    """Check-ins with `start <= arrived_at < end`, in arrival order."""
    query = (
        _board_query()
        .where(CheckIn.arrived_at >= start, CheckIn.arrived_at < end)
        .order_by(CheckIn.arrived_at, CheckIn.id)
    )
    return [_row(r) for r in session.execute(query)]


def checkin(session: Session, checkin_id: str) -> CheckInRow | None:
    row = session.execute(_board_query().where(CheckIn.id == checkin_id)).first()
    return None if row is None else _row(row)


def set_status(
    session: Session, checkin_id: str, status: CheckInStatus, staff_name: str
) -> OutboxItem:
    """Change the status here at once and record the change for the portal, in the caller's
    transaction."""
    update = CheckInStatusUpdate(status=status)  # type: ignore[arg-type]  # refuses ARRIVED
    row = session.get(CheckIn, checkin_id)
    if row is None:
        raise NotFoundError(f"no check-in {checkin_id}")
    reconcile.keep_before_change(session, KIND, checkin_id, _wire(row))
    row.status = update.status.value
    row.status_changed_at = utcnow()
    row.status_changed_by = staff_name
    return outbox.enqueue(
        session,
        SET_CHECKIN_STATUS,
        {"checkin_id": checkin_id},
        update,
        f"{_VERBS[update.status]} check-in",
    )


def _wire(row: CheckIn) -> dict[str, Any]:
    """The check-in as the portal last told this desk, in the feed's form."""
    return CheckInOut(
        id=row.id,
        patient_id=row.patient_id,
        appointment_id=row.appointment_id,
        arrived_at=row.arrived_at,
        status=CheckInStatus(row.status),
        status_changed_at=row.status_changed_at,
        status_changed_by=row.status_changed_by,
    ).model_dump(mode="json")
