"""Check-ins: the patient's "I'm Here" tap (which begins an arrival chat) and the desk's status
changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.wire import CheckInOut, CheckInStatus
from visitdesk.api.wire_checkins import ArrivalAttemptOut, AttemptReason, CheckInSettings
from visitdesk.portal.checkins import rules
from visitdesk.portal.messages.threads import start_arrival_chat
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.clock import day_bounds, local_today
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import (
    AccountLink,
    Appointment,
    ArrivalAttempt,
    CheckIn,
    Patient,
    Practice,
)
from visitdesk.portal.persistence.out import appointment_out, checkin_out
from visitdesk.portal.web.errors import NotFound

log = logging.getLogger(__name__)

#: A check-in in one of these states still stands for today's visit; a new tap returns it.
ACTIVE_STATUSES = (
    CheckInStatus.ARRIVED,
    CheckInStatus.ACKNOWLEDGED,
    CheckInStatus.ROOMED,
    CheckInStatus.DONE,
)
#: Feed kind of a turned-away tap.
ATTEMPT_KIND = "arrival_attempt"
#: The order of a visit; a status change never moves a check-in back along it (a late-arriving
#: "acknowledged" from an offline desk leaves a roomed patient roomed).
_PROGRESS = {
    CheckInStatus.ARRIVED: 0,
    CheckInStatus.ACKNOWLEDGED: 1,
    CheckInStatus.ROOMED: 2,
    CheckInStatus.DONE: 3,
}


@dataclass(frozen=True)
class TapResult:
    """A check-in (new or today's existing one), or the plain-words reason there is none."""

    checkin: CheckInOut | None
    created: bool
    refusal: str | None = None


#: A patient who keeps tapping outside the window is shown to the desk once per this period.
ATTEMPT_QUIET = timedelta(minutes=5)


def _emit(session: Session, row: CheckIn) -> CheckInOut:
    out = checkin_out(row)
    append_changes(session, row.practice_id, [NewChange.of("checkin", out, row.id)])
    return out


def active_checkin(session: Session, patient_id: str, day: date) -> CheckIn | None:
    """The patient's check-in that still stands for `day`'s visit, if any."""
    return session.scalar(
        select(CheckIn)
        .where(
            CheckIn.patient_id == patient_id,
            CheckIn.local_date == day,
            CheckIn.status.in_([status.value for status in ACTIVE_STATUSES]),
        )
        .order_by(CheckIn.arrived_at)
        .limit(1)
    )


def clear_no_show(session: Session, appointment: Appointment) -> None:
    """The patient turned up after all: the arrival wins over the desk's no-show mark."""
    if appointment.no_show_at is None:
        return
    appointment.no_show_at = None
    appointment.no_show_by = None
    appointment.no_show_by_staff_id = None
    appointment.updated_at = utcnow()
    mrn = session.scalar(select(Patient.mrn).where(Patient.id == appointment.patient_id)) or ""
    append_changes(
        session,
        appointment.practice_id,
        [NewChange.of("appointment", appointment_out(appointment, mrn), appointment.id)],
    )


def _refuse(
    session: Session,
    practice: Practice,
    patient: Patient,
    account_id: str,
    reason: AttemptReason,
    appointment: Appointment | None,
    now: datetime,
    win: rules.Window | None,
) -> TapResult:
    """Turn the tap away, and let the desk see it (once per quiet period per patient)."""
    recent = session.scalar(
        select(ArrivalAttempt.id).where(
            ArrivalAttempt.patient_id == patient.id,
            ArrivalAttempt.reason == reason,
            ArrivalAttempt.attempted_at > now - ATTEMPT_QUIET,
        )
    )
    if recent is None:
        attempt = ArrivalAttempt(
            practice_id=practice.id,
            patient_id=patient.id,
            appointment_id=appointment.id if appointment else None,
            account_id=account_id,
            attempted_at=now,
            reason=reason,
        )
        session.add(attempt)
        session.flush()
        out = ArrivalAttemptOut(
            id=attempt.id,
            patient_id=patient.id,
            appointment_id=attempt.appointment_id,
            attempted_at=now,
            reason=reason,
        )
        append_changes(session, practice.id, [NewChange.of(ATTEMPT_KIND, out, attempt.id)])
        log.info("I'm Here turned away for practice %s: %s", practice.id, reason)
    text = rules.refusal_text(reason, appointment, win, practice.timezone)
    return TapResult(None, created=False, refusal=text)


def tap_im_here(
    session: Session, account_id: str, patient_id: str, appointment_id: str | None
) -> TapResult:
    """Record that a linked patient has arrived, inside the arrival window of an appointment of
    theirs; a repeat tap the same day returns the first. Outside the window (or with no
    appointment) the tap is turned away with a plain-words reason and the desk sees the attempt."""
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
    settings = rules.read_settings(session, practice.id)
    appointment: Appointment | None = None
    if appointment_id is not None:
        appointment = session.scalar(
            select(Appointment).where(
                Appointment.id == appointment_id, Appointment.patient_id == patient.id
            )
        )
        if appointment is None:
            raise NotFound("No such appointment for this patient.")

    existing = active_checkin(session, patient.id, today)
    if existing is not None:
        return TapResult(checkin_out(existing), created=False)

    if appointment is not None and appointment.status != "scheduled":
        return _refuse(session, practice, patient, account_id, "cancelled", appointment, now, None)
    if appointment is None:
        appointment = _nearest_appointment(session, practice, patient.id, settings, now)
        if appointment is None:
            return _refuse(
                session, practice, patient, account_id, "no_appointment", None, now, None
            )
    win = rules.window(appointment, settings)
    verdict = win.verdict(now)
    if verdict is not None:
        return _refuse(session, practice, patient, account_id, verdict, appointment, now, win)

    clear_no_show(session, appointment)
    row = CheckIn(
        practice_id=practice.id,
        patient_id=patient.id,
        appointment_id=appointment.id,
        account_id=account_id,
        local_date=today,
        arrived_at=now,
        status=CheckInStatus.ARRIVED.value,
        status_changed_at=now,
        source="app",
    )
    session.add(row)
    session.flush()
    # The tap also opens a chat with the desk; the app finds it through ``thread_id``.
    thread = start_arrival_chat(session, practice.id, patient.id, account_id, row.id)
    row.thread_id = thread.id
    session.flush()
    log.info("check-in %s created for practice %s", row.id, practice.id)
    return TapResult(_emit(session, row), created=True)


def _nearest_appointment(
    session: Session, practice: Practice, patient_id: str, settings: CheckInSettings, now: datetime
) -> Appointment | None:
    """The patient's scheduled appointment whose window holds `now` (nearest to now), else
    today's nearest one (to say whether the tap is early or late), else none."""
    start, end = day_bounds(practice.timezone, local_today(practice.timezone, now))
    lower = min(start, now - timedelta(minutes=settings.closes_minutes_after))
    upper = max(end, now + timedelta(minutes=settings.opens_minutes_before))
    candidates = session.scalars(
        select(Appointment).where(
            Appointment.patient_id == patient_id,
            Appointment.status == "scheduled",
            Appointment.starts_at >= lower,
            Appointment.starts_at <= upper,
        )
    ).all()
    inside = [a for a in candidates if rules.window(a, settings).verdict(now) is None]
    pool = inside or [a for a in candidates if start <= a.starts_at < end]
    if not pool:
        return None
    return min(pool, key=lambda a: abs((a.starts_at - now).total_seconds()))


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
    current = CheckInStatus(row.status)
    if current == status or current in (CheckInStatus.DONE, CheckInStatus.CANCELLED):
        return checkin_out(row)
    if status != CheckInStatus.CANCELLED and _PROGRESS[status] < _PROGRESS[current]:
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
