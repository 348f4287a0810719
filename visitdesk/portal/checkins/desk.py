"""What the front desk does from its schedule: check a patient in at the desk (for an
appointment, or as a walk-in) and mark a no-show, never for a patient who has arrived."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.wire import AppointmentOut, CheckInOut, CheckInStatus
from visitdesk.portal.checkins import arrivals, rules
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.clock import local_today
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import Appointment, CheckIn, Patient, Practice
from visitdesk.portal.persistence.out import appointment_out, checkin_out
from visitdesk.portal.web.errors import Conflict, NotFound, Unprocessable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeskCheckIn:
    checkin: CheckInOut
    created: bool


def check_in_at_desk(
    session: Session,
    practice_id: str,
    checkin_id: str,
    patient_id: str,
    appointment_id: str | None,
    actor: audit.Actor,
) -> DeskCheckIn:
    """Check a patient in at the desk under the id the desk chose. A patient already checked in
    today (the app got there first) keeps that check-in, which is answered instead."""
    row = session.get(CheckIn, checkin_id)
    if row is not None:
        if row.practice_id != practice_id or row.patient_id != patient_id:
            raise Conflict(
                "This check-in id is taken; the desk makes a new one for a new check-in."
            )
        return DeskCheckIn(checkin_out(row), created=False)
    found = session.execute(
        select(Patient, Practice)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(Patient.id == patient_id, Patient.practice_id == practice_id)
    ).first()
    if found is None:
        raise NotFound("No such patient.")
    patient, practice = found
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    appointment: Appointment | None = None
    if appointment_id is not None:
        appointment = session.scalar(
            select(Appointment).where(
                Appointment.id == appointment_id,
                Appointment.patient_id == patient.id,
                Appointment.practice_id == practice_id,
            )
        )
        if appointment is None:
            raise NotFound("No such appointment for this patient.")
        if appointment.status != "scheduled":
            raise Unprocessable("This appointment was cancelled in the practice system.")
    now = utcnow()
    today = local_today(practice.timezone, now)
    existing = arrivals.active_checkin(session, patient.id, today)
    if existing is not None:
        return DeskCheckIn(checkin_out(existing), created=False)
    if appointment is not None:
        arrivals.clear_no_show(session, appointment)
    row = CheckIn(
        id=checkin_id,
        practice_id=practice_id,
        patient_id=patient.id,
        appointment_id=appointment.id if appointment else None,
        account_id=None,
        local_date=today,
        arrived_at=now,
        status=CheckInStatus.ARRIVED.value,
        status_changed_at=now,
        status_changed_by=actor.name,
        status_changed_by_staff_id=actor.id,
        source="desk",
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        practice_id,
        actor,
        "checkin.desk",
        "checkin",
        row.id,
        patient_id=patient.id,
        details={"walk_in": appointment is None},
    )
    out = checkin_out(row)
    append_changes(session, practice_id, [NewChange.of("checkin", out, row.id)])
    log.info("desk check-in %s created for practice %s", row.id, practice_id)
    return DeskCheckIn(out, created=True)


def mark_no_show(
    session: Session, practice_id: str, appointment_id: str, actor: audit.Actor
) -> AppointmentOut:
    """Mark today's appointment a no-show. Refused while the grace period runs, and for a patient
    who has checked in (by the app or at the desk) in any way that still stands."""
    found = session.execute(
        select(Appointment, Patient.mrn)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.id == appointment_id, Appointment.practice_id == practice_id)
        .with_for_update(of=Appointment)
    ).first()
    if found is None:
        raise NotFound("No such appointment.")
    appointment, mrn = found
    if appointment.no_show_at is not None:
        return appointment_out(appointment, mrn)
    if appointment.status != "scheduled":
        raise Unprocessable("This appointment was cancelled in the practice system.")
    arrived = session.scalar(
        select(CheckIn.id).where(
            CheckIn.appointment_id == appointment.id,
            CheckIn.status != CheckInStatus.CANCELLED.value,
        )
    )
    if arrived is not None:
        raise Conflict("This patient has checked in; an arrived patient is never a no-show.")
    settings = rules.read_settings(session, practice_id)
    now = utcnow()
    if now < appointment.starts_at + timedelta(minutes=settings.no_show_grace_minutes):
        raise Unprocessable(
            f"Too soon: a no-show can be marked {settings.no_show_grace_minutes} minutes after "
            "the appointment's start."
        )
    appointment.no_show_at = now
    appointment.no_show_by = actor.name
    appointment.no_show_by_staff_id = actor.id
    appointment.updated_at = now
    session.flush()
    audit.record(
        session,
        practice_id,
        actor,
        "appointment.no_show",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
    )
    out = appointment_out(appointment, mrn)
    append_changes(session, practice_id, [NewChange.of("appointment", out, appointment.id)])
    return out
