from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt

from visitdesk.desktop.views.checkins_table import (
    STATUS_COLUMN,
    WAITING_COLUMN,
    CheckInsModel,
    minutes_waiting,
)

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Row:
    id: str
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    appointment_starts_at: datetime | None
    provider: str | None
    arrived_at: datetime
    status: str
    status_changed_at: datetime
    status_changed_by: str | None = None


def row(n: int, status: str = "arrived", arrived_minutes_ago: int = 5, **kw: object) -> Row:
    arrived = NOW - timedelta(minutes=arrived_minutes_ago)
    fields = dict(
        id=f"c{n}",
        first_name="Ana",
        last_name=f"Lopez-{n}",
        date_of_birth=date(1980, 2, 3),
        appointment_starts_at=NOW + timedelta(minutes=15),
        provider="Dr. Reyes",
        arrived_at=arrived,
        status=status,
        status_changed_at=arrived,
    )
    fields.update(kw)
    return Row(**fields)  # type: ignore[arg-type]


def test_model_passes_qt_model_tester(qtmodeltester):
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows([row(1), row(2, "acknowledged"), row(3, "roomed")])
    qtmodeltester.check(model)


def test_display_values_are_in_the_practice_timezone():
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows([row(1, arrived_minutes_ago=12)])
    shown = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert shown == [
        "Lopez-1, Ana",
        "02/03/1980",
        "10:15 AM",
        "Dr. Reyes",
        "9:48 AM",
        "12 min",
        "Arrived",
    ]


def test_hostile_name_is_returned_verbatim_as_plain_text():
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows([row(1, first_name="<b>x</b>", last_name="<script>")])
    assert model.data(model.index(0, 0)) == "<script>, <b>x</b>"


def test_waiting_ticks_until_roomed_then_freezes():
    arrived = NOW - timedelta(minutes=30)
    waiting = row(1, arrived_at=arrived, status_changed_at=arrived)
    roomed = row(
        2, status="roomed", arrived_at=arrived, status_changed_at=arrived + timedelta(minutes=7)
    )
    assert minutes_waiting(waiting, NOW) == 30
    assert minutes_waiting(waiting, NOW + timedelta(minutes=3)) == 33
    assert minutes_waiting(roomed, NOW + timedelta(hours=2)) == 7


def test_overdue_arrivals_are_marked_and_counted(qtbot):
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows([row(1, arrived_minutes_ago=25), row(2, "acknowledged"), row(3, "roomed")])
    assert model.waiting_count() == 2
    assert model.data(model.index(0, WAITING_COLUMN), Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(1, WAITING_COLUMN), Qt.ItemDataRole.ForegroundRole) is None
    with qtbot.waitSignal(model.dataChanged):
        model.tick()
    assert model.data(model.index(2, STATUS_COLUMN)) == "Roomed"


def test_walk_in_and_unsynced_patient():
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows(
        [row(1, appointment_starts_at=None, first_name=None, last_name=None, date_of_birth=None)]
    )
    assert model.data(model.index(0, 0)) == "(patient not yet synced)"
    assert model.data(model.index(0, 2)) == "Walk-in"
