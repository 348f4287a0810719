from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from tests.desktop.models.factories import T0, appointment_item, checkin_item, patient_item
from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.models import LocalStore, NotFoundError

DAY = (T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1))


@pytest.fixture
def board_store(store: LocalStore) -> LocalStore:
    store.apply_changes(
        [
            patient_item(1, "P1", "M1", first="Ann", last="Lee"),
            appointment_item(2, "A1", "EXT1", "M1", "P1", starts_at=T0 + timedelta(minutes=15)),
            checkin_item(3, "C1", "P1", arrived_at=T0, appointment_id="A1"),
            checkin_item(4, "C2", "P-UNKNOWN", arrived_at=T0 - timedelta(minutes=30)),
            checkin_item(5, "C3", "P1", arrived_at=T0 - timedelta(days=1)),
        ],
        5,
    )
    return store


def test_board_lists_the_day_in_arrival_order(board_store: LocalStore) -> None:
    rows = board_store.checkins_for_day(*DAY)
    assert [r.id for r in rows] == ["C2", "C1"]
    unknown, known = rows
    assert (unknown.first_name, unknown.last_name, unknown.date_of_birth) == (None, None, None)
    assert unknown.appointment_starts_at is None and unknown.provider is None
    assert (known.first_name, known.last_name, str(known.date_of_birth)) == (
        "Ann",
        "Lee",
        "1980-01-02",
    )
    assert known.appointment_starts_at == T0 + timedelta(minutes=15)
    assert known.provider == "Dr. Who"
    assert known.status is CheckInStatus.ARRIVED
    assert known.arrived_at == T0 and known.arrived_at.tzinfo is not None


def test_day_bounds_are_half_open(board_store: LocalStore) -> None:
    assert [r.id for r in board_store.checkins_for_day(T0, T0 + timedelta(hours=1))] == ["C1"]
    assert board_store.checkins_for_day(T0 + timedelta(seconds=1), T0 + timedelta(hours=1)) == []


def test_set_status_changes_row_and_queues_the_call(board_store: LocalStore) -> None:
    item = board_store.set_checkin_status("C1", CheckInStatus.ACKNOWLEDGED, "Pat Desk")
    assert (item.command, item.params, item.body) == (
        "set_checkin_status",
        {"checkin_id": "C1"},
        {"status": "acknowledged"},
    )
    assert item.description == "Acknowledge check-in"
    row = board_store.checkin("C1")
    assert row is not None
    assert (row.status, row.status_changed_by) == (CheckInStatus.ACKNOWLEDGED, "Pat Desk")
    assert row.status_changed_at > T0
    assert board_store.next_outbox_item() == item


def test_set_status_is_atomic(board_store: LocalStore) -> None:
    with closing(sqlite3.connect(board_store.path)) as conn, conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'full'); END"
        )
    with pytest.raises(IntegrityError):
        board_store.set_checkin_status("C1", CheckInStatus.ROOMED, "Pat Desk")
    row = board_store.checkin("C1")
    assert row is not None and row.status is CheckInStatus.ARRIVED
    assert board_store.outbox_pending_count() == 0


def test_set_status_refuses_unknown_checkin_and_arrived(board_store: LocalStore) -> None:
    with pytest.raises(NotFoundError):
        board_store.set_checkin_status("NOPE", CheckInStatus.ROOMED, "Pat")
    with pytest.raises(ValueError):
        board_store.set_checkin_status("C1", CheckInStatus.ARRIVED, "Pat")
    assert board_store.outbox_pending_count() == 0


def test_pending_local_status_survives_an_older_feed_item(board_store: LocalStore) -> None:
    item = board_store.set_checkin_status("C1", CheckInStatus.ACKNOWLEDGED, "Pat Desk")
    # The pull thread applies a page written before the portal saw our change.
    board_store.apply_changes([checkin_item(6, "C1", "P1", arrived_at=T0, appointment_id="A1")], 6)
    assert board_store.checkin("C1").status is CheckInStatus.ACKNOWLEDGED  # type: ignore[union-attr]
    # Once the portal accepted it, the feed is the truth again.
    board_store.outbox_sent(item.id, {})
    board_store.apply_changes([checkin_item(7, "C1", "P1", status="roomed")], 7)
    assert board_store.checkin("C1").status is CheckInStatus.ROOMED  # type: ignore[union-attr]


def test_checkin_lookup(board_store: LocalStore) -> None:
    assert board_store.checkin("NOPE") is None
    assert board_store.checkin("C2").patient_id == "P-UNKNOWN"  # type: ignore[union-attr]
