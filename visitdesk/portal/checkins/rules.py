"""The practice's check-in rules: the arrival window around an appointment, the no-show grace,
the board's waiting thresholds. Kept per practice; every desk receives them through the feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from visitdesk.api.wire_checkins import AttemptReason, CheckInSettings
from visitdesk.portal.persistence.clock import zone
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import Appointment, PracticeSetting

SETTINGS_KEY = "checkin_desk"
#: Feed kind of the settings; its one record is the practice itself.
SETTINGS_KIND = "checkin_settings"


def read_settings(session: Session, practice_id: str) -> CheckInSettings:
    row = session.get(PracticeSetting, (practice_id, SETTINGS_KEY))
    return parse_settings(None if row is None else row.value)


def parse_settings(value: str | None) -> CheckInSettings:
    """The settings as stored (None: the practice never changed them)."""
    return CheckInSettings() if value is None else CheckInSettings.model_validate_json(value)


def write_settings(session: Session, practice_id: str, settings: CheckInSettings) -> None:
    """Store the settings and tell every desk (feed item with the practice's id)."""
    value = settings.model_dump_json()
    row = session.get(PracticeSetting, (practice_id, SETTINGS_KEY))
    if row is None:
        session.add(PracticeSetting(practice_id=practice_id, key=SETTINGS_KEY, value=value))
    else:
        row.value = value
    append_changes(session, practice_id, [NewChange.of(SETTINGS_KIND, settings, practice_id)])


@dataclass(frozen=True)
class Window:
    """When I'm Here is accepted for one appointment."""

    opens: datetime
    closes: datetime

    def verdict(self, now: datetime) -> AttemptReason | None:
        if now < self.opens:
            return "too_early"
        if now > self.closes:
            return "too_late"
        return None


def window(appointment: Appointment, settings: CheckInSettings) -> Window:
    return Window(
        appointment.starts_at - timedelta(minutes=settings.opens_minutes_before),
        appointment.starts_at + timedelta(minutes=settings.closes_minutes_after),
    )


def _clock(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(zone(timezone)):%I:%M %p}".lstrip("0")


def refusal_text(
    reason: AttemptReason, appointment: Appointment | None, win: Window | None, timezone: str
) -> str:
    """What the patient reads when the app cannot check them in: plain words, no jargon."""
    desk = "Please see the front desk."
    if reason == "cancelled":
        return f"This appointment was cancelled. {desk}"
    if reason == "no_appointment" or appointment is None or win is None:
        return f"We could not find an appointment for you today. {desk}"
    starts = _clock(appointment.starts_at, timezone)
    if reason == "too_early":
        return (
            f"It is too early to check in for your {starts} appointment; the app accepts "
            f"I'm Here from {_clock(win.opens, timezone)}. {desk}"
        )
    return f"It is too late to check in with the app for your {starts} appointment. {desk}"
