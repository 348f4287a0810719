"""Reconciling optimistic check-in changes with the feed, on the real store (no portal needed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.desktop.models.factories import T0, checkin_item, delete_item
from visitdesk.api.commands import REJECT_REGISTRATION, SET_CHECKIN_STATUS, UPSERT_PATIENTS
from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.models import LocalStore
from visitdesk.desktop.models.feed import APPLIERS
from visitdesk.desktop.models.reconcile import OPTIMISTIC, record_of

ACK, ROOMED = CheckInStatus.ACKNOWLEDGED, CheckInStatus.ROOMED


def _answer(status: str, at: datetime, by: str = "Desk A") -> dict[str, Any]:
    """The portal's CheckInOut answer to a status change."""
    return {
        "id": "C1",
        "patient_id": "P1",
        "appointment_id": None,
        "arrived_at": T0.isoformat(),
        "status": status,
        "status_changed_at": at.isoformat(),
        "status_changed_by": by,
    }


def _status(store: LocalStore) -> str:
    row = store.checkin("C1")
    assert row is not None
    return row.status.value


def _arrived(store: LocalStore) -> None:
    store.apply_changes([checkin_item(1, "C1", "P1")], last_seq=1)


def test_the_feed_waits_while_a_change_is_in_flight_and_wins_when_it_settles(
    store: LocalStore,
) -> None:
    _arrived(store)
    item = store.set_checkin_status("C1", ACK, "Desk A")
    later = T0 + timedelta(minutes=2)
    store.apply_changes([checkin_item(2, "C1", "P1", later, status="roomed")], last_seq=2)
    assert _status(store) == "acknowledged"  # no flicker back while in flight
    # The answer is a replay of the first answer, older than what the feed said since.
    kinds = store.outbox_sent(item.id, _answer("acknowledged", T0 + timedelta(minutes=1)))
    assert kinds == {"checkin"}
    assert _status(store) == "roomed"
    # From now on the feed applies as usual.
    store.apply_changes([checkin_item(3, "C1", "P1", later, status="cancelled")], last_seq=3)
    assert _status(store) == "cancelled"


def test_a_fresh_answer_beats_an_older_held_item(store: LocalStore) -> None:
    _arrived(store)
    item = store.set_checkin_status("C1", ROOMED, "Desk A")
    store.apply_changes([checkin_item(2, "C1", "P1", status="arrived")], last_seq=2)
    store.outbox_sent(item.id, _answer("roomed", T0 + timedelta(minutes=3)))
    assert _status(store) == "roomed"
    row = store.checkin("C1")
    assert row is not None and row.status_changed_by == "Desk A"


def test_a_refused_change_returns_to_the_portals_state(store: LocalStore) -> None:
    _arrived(store)
    item = store.set_checkin_status("C1", ACK, "Desk A")
    assert store.outbox_failed(item.id, "refused") == {"checkin"}
    assert _status(store) == "arrived"


def test_the_last_of_several_changes_settles_the_row(store: LocalStore) -> None:
    _arrived(store)
    first = store.set_checkin_status("C1", ACK, "Desk A")
    second = store.set_checkin_status("C1", ROOMED, "Desk A")
    assert store.outbox_sent(first.id, _answer("acknowledged", T0 + timedelta(minutes=1))) == set()
    assert _status(store) == "roomed"  # the second change is still in flight
    store.outbox_sent(second.id, _answer("roomed", T0 + timedelta(minutes=2)))
    assert _status(store) == "roomed"


def test_a_deletion_held_in_flight_removes_the_row_when_it_settles(store: LocalStore) -> None:
    _arrived(store)
    item = store.set_checkin_status("C1", ACK, "Desk A")
    store.apply_changes([delete_item(2, "checkin", "C1")], last_seq=2)
    assert store.checkin("C1") is not None
    store.outbox_sent(item.id, _answer("acknowledged", T0 + timedelta(minutes=1)))
    assert store.checkin("C1") is None


def test_discarding_a_change_still_in_line_returns_the_row(store: LocalStore) -> None:
    _arrived(store)
    item = store.set_checkin_status("C1", ACK, "Desk A")
    store.discard_outbox_item(item.id)
    assert _status(store) == "arrived"


def test_only_changes_of_registered_kinds_are_reconciled() -> None:
    assert record_of(SET_CHECKIN_STATUS.name, {"checkin_id": "C1"}) == ("checkin", "C1")
    assert record_of(REJECT_REGISTRATION.name, {"registration_id": "R1"}) == ("registration", "R1")
    assert record_of(UPSERT_PATIENTS.name, {}) is None


def test_every_optimistic_kind_has_a_feed_applier() -> None:
    assert {spec.kind for spec in OPTIMISTIC} <= {kind for kind, _ in APPLIERS}


def test_a_malformed_answer_falls_back_to_the_feed(store: LocalStore) -> None:
    _arrived(store)
    item = store.set_checkin_status("C1", ACK, "Desk A")
    later = T0 + timedelta(minutes=2)
    store.apply_changes([checkin_item(2, "C1", "P1", later, status="roomed")], last_seq=2)
    broken = {**_answer("acknowledged", later + timedelta(minutes=1)), "status": "teleported"}
    assert store.outbox_sent(item.id, broken) == {"checkin"}
    assert _status(store) == "roomed"
