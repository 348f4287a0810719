from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt

from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.models.schedule import ArrivalRow, ScheduleRow
from visitdesk.desktop.views.checkins_table import (
    LATE_LABEL,
    STATE_COLUMN,
    STATUS_COLUMN,
    WAIT_ALERT,
    WAIT_WARNING,
    WAITING_COLUMN,
    CheckInsModel,
    ScheduleModel,
    minutes_waiting,
)
from visitdesk.desktop.views.waiting_room import display_name

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")


def row(n: int, status: str = "arrived", arrived_minutes_ago: int = 5, **kw: object) -> ArrivalRow:
    arrived = NOW - timedelta(minutes=arrived_minutes_ago)
    fields: dict[str, object] = dict(
        kind="checkin",
        id=f"c{n}",
        patient_id=f"p{n}",
        first_name="Ana",
        last_name=f"Lopez-{n}",
        date_of_birth=date(1980, 2, 3),
        appointment_id=f"a{n}",
        appointment_starts_at=NOW + timedelta(minutes=15),
        provider="Dr. Reyes",
        location="Suite 200",
        arrived_at=arrived,
        status=status,
        reason=None,
        status_changed_at=arrived,
        status_changed_by=None,
        source="app",
    )
    fields.update(kw)
    return ArrivalRow(**fields)  # type: ignore[arg-type]


def appointment(n: int, state: str = "scheduled", starts_minutes_ago: int = 0) -> ScheduleRow:
    return ScheduleRow(
        key=n,
        appointment_id=f"a{n}",
        patient_id=f"p{n}",
        first_name="Ana",
        last_name=f"Lopez-{n}",
        starts_at=NOW - timedelta(minutes=starts_minutes_ago),
        provider="Dr. Reyes",
        location="Suite 200",
        reason="Follow-up",
        state=state,  # type: ignore[arg-type]
        checkin_id=None,
        changed_at=None,
        changed_by=None,
    )


def test_models_pass_qt_model_tester(qtmodeltester):
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows([row(1), row(2, "acknowledged"), row(3, "roomed")])
    qtmodeltester.check(model)
    schedule = ScheduleModel(ZONE, now=lambda: NOW)
    schedule.set_rows([appointment(1), appointment(2, "roomed"), appointment(3, "no_show")])
    qtmodeltester.check(schedule)


def test_display_values_are_in_the_practice_timezone():
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows([row(1, arrived_minutes_ago=12)])
    shown = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert shown == ["Lopez-1, Ana", "10:15 AM", "12 min", "Arrived"]
    tip = model.data(model.index(0, STATUS_COLUMN), Qt.ItemDataRole.ToolTipRole)
    assert tip == "Checked in with the app at 9:48 AM"
    assert "born 02/03/1980" in model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, 1), Qt.ItemDataRole.ToolTipRole) == "Dr. Reyes, Suite 200"


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


def test_waits_are_coloured_by_the_practice_thresholds(qtbot):
    clock = [NOW]
    model = CheckInsModel(ZONE, now=lambda: clock[0])
    model.set_rows(
        [
            row(1, arrived_minutes_ago=25),
            row(2, "acknowledged", arrived_minutes_ago=12),
            row(3, arrived_minutes_ago=2),
            row(4, "roomed", arrived_minutes_ago=40),
        ]
    )
    assert model.waiting_count() == 3

    def background(n: int):
        return model.data(model.index(n, WAITING_COLUMN), Qt.ItemDataRole.BackgroundRole)

    assert background(0).color() == WAIT_ALERT[0]
    assert background(1).color() == WAIT_WARNING[0]
    assert background(2) is None and background(3) is None  # fine, and no longer waiting
    model.set_settings(CheckInSettings(wait_warning_minutes=30, wait_alert_minutes=60))
    assert background(0) is None
    with qtbot.waitSignal(model.dataChanged):
        clock[0] = NOW + timedelta(minutes=40)
        model.tick()
    assert background(0).color() == WAIT_ALERT[0]
    assert model.data(model.index(3, STATUS_COLUMN)) == "Roomed"


def test_walk_in_desk_arrival_attempt_and_unsynced_patient():
    model = CheckInsModel(ZONE, now=lambda: NOW)
    model.set_rows(
        [
            row(1, appointment_starts_at=None, first_name=None, last_name=None, source="desk"),
            row(2, kind="attempt", status="attempt", reason="too_early"),
            row(3, status="done"),
        ]
    )
    assert model.data(model.index(0, 0)) == "(patient not yet synced)"
    assert model.data(model.index(0, 1)) == "Walk-in"
    assert model.data(model.index(0, STATUS_COLUMN)) == "Arrived (desk)"
    assert model.data(model.index(1, STATUS_COLUMN)) == "App: too early"
    assert model.data(model.index(1, WAITING_COLUMN)) == ""
    assert "told to see the desk" in model.data(
        model.index(1, STATUS_COLUMN), Qt.ItemDataRole.ToolTipRole
    )
    assert model.data(model.index(2, WAITING_COLUMN)) == ""
    assert model.waiting_count() == 1


def test_schedule_suggests_a_no_show_only_after_the_grace():
    clock = [NOW]
    model = ScheduleModel(ZONE, now=lambda: clock[0])
    on_time, arrived = appointment(1, starts_minutes_ago=10), appointment(2, "arrived_app", 90)
    model.set_rows([on_time, arrived, replace(appointment(3, "no_show"), changed_by="Dana Lee")])
    assert model.data(model.index(0, STATE_COLUMN)) == "Scheduled"
    assert not model.is_late(on_time)
    clock[0] = NOW + timedelta(minutes=15)  # 25 minutes after the start: past the 20 of grace
    assert model.data(model.index(0, STATE_COLUMN)) == LATE_LABEL
    assert model.is_late(on_time) and not model.is_late(arrived)
    assert model.data(model.index(1, STATE_COLUMN)) == "Arrived (app)"
    assert model.data(model.index(2, STATE_COLUMN)) == "No-show"


def test_waiting_room_names_show_no_more_than_first_name_and_initial():
    assert display_name("Maria José", "García-Hernández", False) == "Maria G."
    assert display_name("Maria", "García", True) == "M. G."
    assert display_name(None, None, False) == ""


def test_fitting_a_big_board_keeps_nones_reference_count(qtbot):
    # PySide6 loses a reference to None on each call of a Python initStyleOption override; the
    # tables' delegate must not have one, or a 2,000-row board crashes the app within a minute.
    import sys

    from visitdesk.desktop.views.tables import rows_table

    model = ScheduleModel(ZONE, now=lambda: NOW)
    model.set_rows([appointment(n) for n in range(2000)])
    table = rows_table(model, stretch=1, keep=(1,))
    qtbot.addWidget(table)
    before = sys.getrefcount(None)
    for _ in range(3):
        table.fit_columns()
    # The leak was one reference per cell measured (thousands here); allow for the noise of a
    # busy interpreter.
    assert sys.getrefcount(None) >= before - 2000
