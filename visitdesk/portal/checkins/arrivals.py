"""Check-ins: the patient's "I'm Here" tap (which begins an arrival chat) and the desk's status
changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from visitdesk.api.wire import CheckInOut, CheckInStatus
from visitdesk.api.wire_checkins import ArrivalAttemptOut, AttemptReason, CheckInSettings
from visitdesk.portal.accounts.patient_side import full_name
from visitdesk.portal.checkins import rules
from visitdesk.portal.messages.threads import start_arrival_chat
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.clock import day_bounds, local_today
from visitdesk.portal.persistence.db import column_values, utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes, at_commit
from visitdesk.portal.persistence.models import (
    AccountLink,
    Appointment,
    ArrivalAttempt,
    CheckIn,
    Patient,
    PatientAccount,
    Practice,
    PracticeSetting,
    new_id,
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


_ACTIVE_CHECKIN = (
    select(CheckIn)
    .where(
        CheckIn.patient_id == bindparam("patient_id"),
        CheckIn.local_date == bindparam("day"),
        CheckIn.status.in_([status.value for status in ACTIVE_STATUSES]),
    )
    .order_by(CheckIn.arrived_at)
    .limit(1)
)


def active_checkin(session: Session, patient_id: str, day: date) -> CheckIn | None:
    """The patient's check-in that still stands for `day`'s visit, if any."""
    return session.scalar(_ACTIVE_CHECKIN, {"patient_id": patient_id, "day": day})


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


@dataclass(frozen=True)
class _Tapper:
    """What a tap needs to know of the patient, read (and the patient locked) in one query."""

    patient_id: str
    practice_id: str
    timezone: str
    account_name: str
    settings: CheckInSettings


#: The linked patient with their practice's clock and check-in rules and the account holder's
#: name, the patient row locked: taps for one patient run one at a time (PostgreSQL; SQLite
#: writers are serialised already). Built once: it runs on every tap.
_TAPPER = (
    select(
        Patient.practice_id,
        Practice.timezone,
        PatientAccount.first_name,
        PatientAccount.last_name,
        select(PracticeSetting.value)
        .where(
            PracticeSetting.practice_id == Patient.practice_id,
            PracticeSetting.key == rules.SETTINGS_KEY,
        )
        .scalar_subquery(),
    )
    .join(AccountLink, AccountLink.patient_id == Patient.id)
    .join(Practice, Practice.id == Patient.practice_id)
    .join(PatientAccount, PatientAccount.id == AccountLink.account_id)
    .where(
        AccountLink.account_id == bindparam("account_id"),
        AccountLink.patient_id == bindparam("patient_id"),
        AccountLink.revoked_at.is_(None),
    )
    .with_for_update(of=Patient)
)
_INSERT_CHECKIN = insert(cast(Table, CheckIn.__table__))


def _tapper(session: Session, account_id: str, patient_id: str) -> _Tapper | None:
    row = session.execute(_TAPPER, {"account_id": account_id, "patient_id": patient_id}).first()
    if row is None:
        return None
    practice_id, timezone, first_name, last_name, settings_json = row
    return _Tapper(
        patient_id=patient_id,
        practice_id=practice_id,
        timezone=timezone,
        account_name=full_name(first_name, last_name),
        settings=rules.parse_settings(settings_json),
    )


def _refuse(
    session: Session,
    tapper: _Tapper,
    account_id: str,
    reason: AttemptReason,
    appointment: Appointment | None,
    now: datetime,
    win: rules.Window | None,
) -> TapResult:
    """Turn the tap away, and let the desk see it (once per quiet period per patient)."""
    recent = session.scalar(
        select(ArrivalAttempt.id).where(
            ArrivalAttempt.patient_id == tapper.patient_id,
            ArrivalAttempt.reason == reason,
            ArrivalAttempt.attempted_at > now - ATTEMPT_QUIET,
        )
    )
    if recent is None:
        attempt = ArrivalAttempt(
            practice_id=tapper.practice_id,
            patient_id=tapper.patient_id,
            appointment_id=appointment.id if appointment else None,
            account_id=account_id,
            attempted_at=now,
            reason=reason,
        )
        session.add(attempt)
        session.flush()
        out = ArrivalAttemptOut(
            id=attempt.id,
            patient_id=tapper.patient_id,
            appointment_id=attempt.appointment_id,
            attempted_at=now,
            reason=reason,
        )
        append_changes(session, tapper.practice_id, [NewChange.of(ATTEMPT_KIND, out, attempt.id)])
        log.info("I'm Here turned away for practice %s: %s", tapper.practice_id, reason)
    text = rules.refusal_text(reason, appointment, win, tapper.timezone)
    return TapResult(None, created=False, refusal=text)


def tap_im_here(
    session: Session, account_id: str, patient_id: str, appointment_id: str | None
) -> TapResult:
    """Record that a linked patient has arrived, inside the arrival window of an appointment of
    theirs; a repeat tap the same day returns the first. Outside the window (or with no
    appointment) the tap is turned away with a plain-words reason and the desk sees the attempt.

    The portal's busiest write, so it is a few plain statements: one read that checks the link
    and locks the patient, today's check-in, the appointments; then three INSERTs (check-in,
    arrival chat, its first message) that go to PostgreSQL with the feed append and the COMMIT
    in one round trip."""
    tapper = _tapper(session, account_id, patient_id)
    if tapper is None:
        raise NotFound("No such patient on this account.")
    now = utcnow()
    today = local_today(tapper.timezone, now)
    settings = tapper.settings
    appointment: Appointment | None = None
    if appointment_id is not None:
        appointment = session.scalar(
            select(Appointment).where(
                Appointment.id == appointment_id, Appointment.patient_id == patient_id
            )
        )
        if appointment is None:
            raise NotFound("No such appointment for this patient.")

    existing = active_checkin(session, patient_id, today)
    if existing is not None:
        return TapResult(checkin_out(existing), created=False)

    if appointment is not None and appointment.status != "scheduled":
        return _refuse(session, tapper, account_id, "cancelled", appointment, now, None)
    if appointment is None:
        appointment = _nearest_appointment(session, tapper.timezone, patient_id, settings, now)
        if appointment is None:
            return _refuse(session, tapper, account_id, "no_appointment", None, now, None)
    win = rules.window(appointment, settings)
    verdict = win.verdict(now)
    if verdict is not None:
        return _refuse(session, tapper, account_id, verdict, appointment, now, win)

    clear_no_show(session, appointment)
    thread_id = new_id()
    row = CheckIn(
        id=new_id(),
        practice_id=tapper.practice_id,
        patient_id=patient_id,
        appointment_id=appointment.id,
        account_id=account_id,
        local_date=today,
        arrived_at=now,
        status=CheckInStatus.ARRIVED.value,
        status_changed_at=now,
        status_changed_by=None,
        status_changed_by_staff_id=None,
        # The tap also opens a chat with the desk; the app finds it through ``thread_id``.
        thread_id=thread_id,
        source="app",
    )
    at_commit(session, _INSERT_CHECKIN, column_values(row))
    start_arrival_chat(
        session, tapper.practice_id, patient_id, account_id, tapper.account_name, row.id, thread_id
    )
    log.info("check-in %s created for practice %s", row.id, tapper.practice_id)
    return TapResult(_emit(session, row), created=True)


_CANDIDATES = select(Appointment).where(
    Appointment.patient_id == bindparam("patient_id"),
    Appointment.status == "scheduled",
    Appointment.starts_at >= bindparam("lower"),
    Appointment.starts_at <= bindparam("upper"),
)


def _nearest_appointment(
    session: Session, timezone: str, patient_id: str, settings: CheckInSettings, now: datetime
) -> Appointment | None:
    """The patient's scheduled appointment whose window holds `now` (nearest to now), else
    today's nearest one (to say whether the tap is early or late), else none."""
    start, end = day_bounds(timezone, local_today(timezone, now))
    lower = min(start, now - timedelta(minutes=settings.closes_minutes_after))
    upper = max(end, now + timedelta(minutes=settings.opens_minutes_before))
    candidates = session.scalars(
        _CANDIDATES, {"patient_id": patient_id, "lower": lower, "upper": upper}
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
