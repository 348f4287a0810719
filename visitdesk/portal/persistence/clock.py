"""Calendar days in a practice's timezone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from visitdesk.portal.persistence.db import utcnow


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(timezone: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(zone(timezone)).date()


def day_bounds(timezone: str, day: date) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` starts and ends in the practice's timezone."""
    tz = zone(timezone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


class Clock:
    """The portal's idea of "now" for rules that look at elapsed time (link reviews).

    One per app. Tests move it forward with `advance` to see what the rules say months or years
    later; in service it is the system clock.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self._offset

    def advance(self, by: timedelta) -> None:
        self._offset += by

    def reset(self) -> None:
        self._offset = timedelta(0)
