"""The check-in board: who said "I'm Here", in arrival order, and the desk's status changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from visitdesk.api.commands import CHECK_IN_AT_DESK, MARK_NO_SHOW, SET_CHECKIN_STATUS
from visitdesk.api.wire import AppointmentOut, CheckInOut, CheckInStatus, CheckInStatusUpdate
from visitdesk.api.wire_checkins import DeskCheckInCreate
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
    CheckInStatus.DONE: "Finish",
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
        source="desk" if row.source == "desk" else "app",
    ).model_dump(mode="json")


def standing_checkin(session: Session, patient_id: str, since: datetime) -> CheckIn | None:
    """The patient's check-in since `since` that still stands (not cancelled), if any."""
    return session.scalar(
        select(CheckIn)
        .where(
            CheckIn.patient_id == patient_id,
            CheckIn.arrived_at >= since,
            CheckIn.status != CheckInStatus.CANCELLED.value,
        )
        .limit(1)
    )


def check_in_at_desk(
    session: Session,
    patient_id: str,
    appointment_id: str | None,
    staff_name: str,
    day_start: datetime,
    day_end: datetime,
) -> tuple[str, OutboxItem]:
    """Check a patient in at the desk: the row shows here at once under a new id, and the
    check-in goes to the portal. Returns (check-in id, outbox item). Without `appointment_id`
    the check-in is tied to the patient's appointment today nearest to now, if there is one,
    else it is a walk-in.

    Raises AlreadyCheckedIn for a patient checked in today, NotFoundError for an appointment
    this desk does not have.
    """
    existing = standing_checkin(session, patient_id, day_start)
    if existing is not None:
        raise AlreadyCheckedIn(existing.id)
    if appointment_id is None:
        appointment_id = _todays_appointment(session, patient_id, day_start, day_end)
    else:
        appointment = session.scalar(
            select(Appointment).where(Appointment.portal_id == appointment_id)
        )
        if appointment is None or appointment.patient_portal_id != patient_id:
            raise NotFoundError(f"no appointment {appointment_id} for this patient")
    checkin_id = str(uuid.uuid4())
    now = utcnow()
    reconcile.keep_before_change(session, KIND, checkin_id, {"id": checkin_id}, op="delete")
    session.add(
        CheckIn(
            id=checkin_id,
            patient_id=patient_id,
            appointment_id=appointment_id,
            arrived_at=now,
            status=CheckInStatus.ARRIVED.value,
            status_changed_at=now,
            status_changed_by=staff_name,
            source="desk",
        )
    )
    session.flush()
    item = outbox.enqueue(
        session,
        CHECK_IN_AT_DESK,
        {"checkin_id": checkin_id},
        DeskCheckInCreate(patient_id=patient_id, appointment_id=appointment_id),
        "Walk-in check-in" if appointment_id is None else "Check in at the desk",
    )
    return checkin_id, item


def _todays_appointment(
    session: Session, patient_id: str, day_start: datetime, day_end: datetime
) -> str | None:
    rows = session.execute(
        select(Appointment.portal_id, Appointment.starts_at).where(
            Appointment.patient_portal_id == patient_id,
            Appointment.portal_id.is_not(None),
            Appointment.status == "scheduled",
            Appointment.starts_at >= day_start,
            Appointment.starts_at < day_end,
        )
    ).all()
    if not rows:
        return None
    now = utcnow()
    return min(rows, key=lambda r: abs((r[1] - now).total_seconds()))[0]


def mark_no_show(
    session: Session, appointment_id: str, staff_name: str, grace: timedelta
) -> OutboxItem:
    """Mark an appointment a no-show here and for the portal. Refused (NotANoShow) for a patient
    who has checked in, and before the grace period after the start has passed."""
    appointment = session.scalar(select(Appointment).where(Appointment.portal_id == appointment_id))
    if appointment is None or appointment.patient_portal_id is None:
        raise NotFoundError(f"no appointment {appointment_id}")
    arrived = session.scalar(
        select(CheckIn.id).where(
            CheckIn.appointment_id == appointment_id,
            CheckIn.status != CheckInStatus.CANCELLED.value,
        )
    )
    if arrived is not None:
        raise NotANoShow("This patient has checked in; an arrived patient is never a no-show.")
    now = utcnow()
    if now < appointment.starts_at + grace:
        raise NotANoShow("Too soon: the grace period after the appointment's start has not passed.")
    before = AppointmentOut(
        id=appointment_id,
        patient_id=appointment.patient_portal_id,
        mrn=appointment.patient_mrn,
        external_id=appointment.external_id,
        starts_at=appointment.starts_at,
        duration_minutes=appointment.duration_minutes,
        provider=appointment.provider,
        location=appointment.location,
        reason=appointment.reason,
        status="cancelled" if appointment.status == "cancelled" else "scheduled",
        no_show_at=appointment.no_show_at,
        no_show_by=appointment.no_show_by,
    ).model_dump(mode="json")
    reconcile.keep_before_change(session, reconcile.APPOINTMENT, appointment_id, before)
    appointment.no_show_at = now
    appointment.no_show_by = staff_name
    return outbox.enqueue(
        session, MARK_NO_SHOW, {"appointment_id": appointment_id}, None, "Mark a no-show"
    )


class AlreadyCheckedIn(ValueError):
    """The patient is checked in today already; `checkin_id` is that check-in."""

    def __init__(self, checkin_id: str) -> None:
        super().__init__("This patient is already checked in today.")
        self.checkin_id = checkin_id


class NotANoShow(ValueError):
    """A no-show the desk must not mark (the patient arrived, or it is too soon)."""
