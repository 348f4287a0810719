"""The desk's registration queue: fed by the change feed, decided here through the outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.desktop.models.factories import T0
from tests.desktop.registration_items import registration_item
from visitdesk.desktop.models import LocalStore, registrations
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.sync.store import OutboxItem


def _queue_ids(store: LocalStore, **kwargs: object) -> list[str]:
    with store.read() as session:
        return [row.id for row in registrations.queue(session, **kwargs)]  # type: ignore[arg-type]


def _count(store: LocalStore) -> int:
    with store.read() as session:
        return registrations.queue_count(session)


def _queue(store: LocalStore) -> list[registrations.QueueRow]:
    with store.read() as session:
        return registrations.queue(session)


def _match(store: LocalStore, *args: Any, **kwargs: Any) -> OutboxItem:
    with store.write() as uow:
        return registrations.record_match(uow.session, *args, **kwargs)


def _reject(store: LocalStore, *args: Any) -> OutboxItem:
    with store.write() as uow:
        return registrations.record_reject(uow.session, *args)


def test_feed_fills_the_queue_oldest_first(store: LocalStore) -> None:
    store.apply_changes(
        [
            registration_item(1, "r-new", created_at=T0 + timedelta(hours=2)),
            registration_item(2, "r-old", "Ann", "Lee", created_at=T0),
            registration_item(3, "r-done", status="rejected", reason="No record"),
        ],
        3,
    )
    assert _queue_ids(store) == ["r-old", "r-new"]
    assert _count(store) == 2
    [first, _] = _queue(store)
    assert (first.display_name, str(first.date_of_birth)) == ("Lee, Ann", "1980-01-02")

    # A decision from another workstation arrives through the feed: it leaves the queue.
    store.apply_changes([registration_item(4, "r-old", "Ann", "Lee", status="matched")], 4)
    assert _queue_ids(store) == ["r-new"]
    # The same page twice changes nothing; a delete removes the row.
    store.apply_changes([registration_item(4, "r-old", "Ann", "Lee", status="matched")], 4)
    assert _count(store) == 1


def test_match_here_hides_it_and_queues_the_call_atomically(store: LocalStore) -> None:
    store.apply_changes([registration_item(1, "r1"), registration_item(2, "r2")], 2)
    item = _match(store, "r1", "P-1", 42.5, note="checked ID")
    assert (item.command, item.params) == ("match_registration", {"registration_id": "r1"})
    assert item.body == {"patient_id": "P-1", "score": 42.5, "note": "checked ID"}
    assert _queue_ids(store) == ["r2"]
    assert [i.id for i in store.pending_outbox_items()] == [item.id]

    # A pending snapshot from the feed (before the push) does not bring it back.
    store.apply_changes([registration_item(3, "r1", created_at=T0 + timedelta(minutes=1))], 3)
    assert _queue_ids(store) == ["r2"]

    # The portal refused it: back in the queue, marked.
    store.outbox_failed(item.id, "409 already matched")
    [again, _] = _queue(store)
    assert (again.id, again.decision_refused) == ("r1", True)

    # Deciding it again works; the portal's confirmation settles it for good.
    second = _reject(store, "r1", "no_record", "Call us.")
    assert second.body == {"reason_code": "no_record", "text": "Call us."}
    assert _queue_ids(store) == ["r2"]
    store.outbox_sent(second.id, None)
    assert _queue_ids(store) == ["r2"]
    store.apply_changes([registration_item(4, "r1", status="rejected")], 4)
    assert _queue_ids(store) == ["r2"]


def test_a_decision_the_portal_never_confirms_returns_after_the_grace(store: LocalStore) -> None:
    store.apply_changes([registration_item(1, "r1")], 1)
    item = _match(store, "r1", "P-1", 30)
    store.discard_outbox_item(item.id)
    assert _queue_ids(store) == []
    later = registrations.utcnow() + registrations.UNCONFIRMED_GRACE + timedelta(seconds=1)
    assert _queue_ids(store, now=later) == ["r1"]


def test_decisions_are_refused_for_unknown_or_decided_registrations(store: LocalStore) -> None:
    store.apply_changes([registration_item(1, "r1", status="matched")], 1)
    with pytest.raises(NotFoundError):
        _match(store, "nope", "P-1", 30)
    with pytest.raises(ValueError, match="already decided"):
        _reject(store, "r1", "no_record")
    store.apply_changes([registration_item(2, "r2")], 2)
    with pytest.raises(ValueError, match="unknown rejection reason"):
        _reject(store, "r2", "rude")
    assert store.pending_outbox_items() == []
