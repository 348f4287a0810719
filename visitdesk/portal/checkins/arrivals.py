"""Check-ins: the patient's "I'm Here" tap (which begins an arrival chat) and the desk's status
changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.wire import CheckInOut, CheckInStatus
from visitdesk.portal.messages.threads import start_arrival_chat
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.clock import day_bounds, local_today
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Appointment, CheckIn, Patient, Practice
from visitdesk.portal.persistence.out import checkin_out
from visitdesk.portal.web.errors import NotFound, Unprocessable

log = logging.getLogger(__name__)

#: A check-in in one of these states still stands for today's visit; a new tap returns it.
ACTIVE_STATUSES = (CheckInStatus.ARRIVED, CheckInStatus.ACKNOWLEDGED, CheckInStatus.ROOMED)


@dataclass(frozen=True)
class TapResult:
    checkin: CheckInOut
    created: bool


def _emit(session: Session, row: CheckIn) -> CheckInOut:
    out = checkin_out(row)
    append_changes(session, row.practice_id, [NewChange.of("checkin", out, row.id)])
    return out


def tap_im_here(
    session: Session, account_id: str, patient_id: str, appointment_id: str | None
) -> TapResult:
    """Record that a linked patient has arrived; a repeat tap the same day returns the first."""
    link = session.execute(
        select(Patient, Practice)
        .join(AccountLink, AccountLink.patient_id == Patient.id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(
            AccountLink.account_id == account_id,
            AccountLink.patient_id == patient_id,
            AccountLink.revoked_at.is_(None),
        )
    ).first()
    if link is None:
        raise NotFound("No such patient on this account.")
    patient, practice = link
    # Serialise taps for one patient (PostgreSQL; SQLite writers are already serialised).
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())

    now = utcnow()
    today = local_today(practice.timezone, now)
    start, end = day_bounds(practice.timezone, today)
    appointment: Appointment | None = None
    if appointment_id is not None:
        appointment = session.scalar(
            select(Appointment).where(
                Appointment.id == appointment_id, Appointment.patient_id == patient.id
            )
        )
        if appointment is None:
            raise NotFound("No such appointment for this patient.")
        if not (start <= appointment.starts_at < end):
            raise Unprocessable("You can only check in for today's appointment.")
        if appointment.status != "scheduled":
            raise Unprocessable("This appointment was cancelled; please call the office.")

    existing = session.scalar(
        select(CheckIn)
        .where(
            CheckIn.patient_id == patient.id,
            CheckIn.local_date == today,
            CheckIn.status.in_([status.value for status in ACTIVE_STATUSES]),
        )
        .order_by(CheckIn.arrived_at)
        .limit(1)
    )
    if existing is not None:
        return TapResult(checkin_out(existing), created=False)

    if appointment is None:
        # Tie the tap to the patient's scheduled appointment today nearest to now, if any.
        candidates = session.scalars(
            select(Appointment).where(
                Appointment.patient_id == patient.id,
                Appointment.status == "scheduled",
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
        ).all()
        if candidates:
            appointment = min(candidates, key=lambda a: abs((a.starts_at - now).total_seconds()))

    row = CheckIn(
        practice_id=practice.id,
        patient_id=patient.id,
        appointment_id=appointment.id if appointment else None,
        account_id=account_id,
        local_date=today,
        arrived_at=now,
        status=CheckInStatus.ARRIVED.value,
        status_changed_at=now,
    )
    session.add(row)
    session.flush()
    # The tap also opens a chat with the desk; the app finds it through ``thread_id``.
    thread = start_arrival_chat(session, practice.id, patient.id, account_id, row.id)
    row.thread_id = thread.id
    session.flush()
    log.info("check-in %s created for practice %s", row.id, practice.id)
    return TapResult(_emit(session, row), created=True)


def set_status(
    session: Session,
    practice_id: str,
    checkin_id: str,
    status: CheckInStatus,
    staff_id: str,
    staff_name: str,
    workstation: str = "",
) -> CheckInOut:
    row = session.scalar(
        select(CheckIn)
        .where(CheckIn.id == checkin_id, CheckIn.practice_id == practice_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("No such check-in.")
    if row.status == status.value:
        return checkin_out(row)
    row.status = status.value
    row.status_changed_at = utcnow()
    row.status_changed_by = staff_name
    row.status_changed_by_staff_id = staff_id
    session.flush()
    audit.record(
        session,
        practice_id,
        audit.Actor("staff", staff_id, staff_name, workstation),
        "checkin.status",
        "checkin",
        row.id,
        patient_id=row.patient_id,
        details={"status": status.value},
    )
    return _emit(session, row)
