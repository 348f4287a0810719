"""The check-in desk's day read in SQL: visit states, the order of the arrivals, turned-away taps,
filters, and the feed's check-in settings."""

from __future__ import annotations

from datetime import timedelta

from tests.desktop.models.factories import T0, appointment_item, checkin_item, patient_item
from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.models import LocalStore, schedule

DAY = (T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1))


def attempt_item(
    seq: int, aid: str, pid: str, minutes: int, reason: str = "too_early"
) -> ChangeItem:
    data = {
        "id": aid,
        "patient_id": pid,
        "appointment_id": None,
        "attempted_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "reason": reason,
    }
    return ChangeItem(seq=seq, kind="arrival_attempt", op="upsert", id=aid, data=data)


def test_states_order_attempts_and_filters(store: LocalStore) -> None:
    items = [patient_item(n, f"P{n}", f"M{n}", first=f"F{n}", last=f"L{n}") for n in range(1, 7)]
    for n in range(1, 7):
        items.append(appointment_item(10 + n, f"A{n}", f"E{n}", f"M{n}", f"P{n}", T0))
    items += [
        checkin_item(20, "C1", "P1", T0 + timedelta(minutes=5), "arrived", "A1"),
        checkin_item(21, "C2", "P2", T0 + timedelta(minutes=1), "acknowledged", "A2"),
        checkin_item(22, "C3", "P3", T0 - timedelta(minutes=9), "roomed", "A3"),
        checkin_item(23, "C4", "P4", T0 - timedelta(minutes=30), "done", "A4"),
        # P5 tried the app twice (the later attempt shows); P1's attempt went once they arrived.
        attempt_item(30, "T1", "P5", -70),
        attempt_item(31, "T2", "P5", -40, "too_late"),
        attempt_item(32, "T3", "P1", -80),
    ]
    store.apply_changes(items, 32)
    with store.read() as session:
        board = schedule.load_board(session, *DAY)
    assert [(r.kind, r.id) for r in board.arrivals] == [
        ("checkin", "C2"),  # waiting: the longest wait first
        ("checkin", "C1"),
        ("attempt", "T2"),
        ("checkin", "C3"),
        ("checkin", "C4"),
    ]
    states = {r.appointment_id: r.state for r in board.schedule}
    assert states == {
        "A1": "arrived_app",
        "A2": "acknowledged",
        "A3": "roomed",
        "A4": "done",
        "A5": "scheduled",
        "A6": "scheduled",
    }
    assert board.providers == ["Dr. Who"] and board.settings == CheckInSettings()
    with store.read() as session:
        nobody = schedule.load_board(session, *DAY, schedule.BoardFilter(provider="Dr. No"))
    assert nobody.schedule == [] and nobody.arrivals == []


def test_the_feeds_settings_are_kept(store: LocalStore) -> None:
    settings = {
        "opens_minutes_before": 90,
        "closes_minutes_after": 15,
        "no_show_grace_minutes": 30,
        "wait_warning_minutes": 5,
        "wait_alert_minutes": 15,
    }
    item = ChangeItem(seq=1, kind="checkin_settings", op="upsert", id="practice", data=settings)
    store.apply_changes([item], 1)
    with store.read() as session:
        assert schedule.checkin_settings(session) == CheckInSettings(**settings)
