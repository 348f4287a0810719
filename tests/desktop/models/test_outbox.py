from __future__ import annotations

import uuid

import pytest

from visitdesk.desktop.models import LocalStore, NotFoundError
from visitdesk.sync.store import SyncStore


def _enqueue(store: LocalStore, n: int) -> list[int]:
    return [
        store.enqueue("POST", f"/api/staff/v1/threads/T{i}/close", {"i": i}, f"Close thread {i}").id
        for i in range(n)
    ]


def test_store_satisfies_the_sync_protocol(store: LocalStore) -> None:
    sync_store: SyncStore = store  # checked by mypy; at run time the methods must exist
    for name in (
        "last_seq",
        "apply_changes",
        "next_outbox_item",
        "outbox_sent",
        "outbox_attempt_failed",
        "outbox_failed",
        "outbox_pending_count",
    ):
        assert callable(getattr(sync_store, name))


def test_items_come_out_in_order_with_their_fields(store: LocalStore) -> None:
    first, second = _enqueue(store, 2)
    item = store.next_outbox_item()
    assert item is not None
    assert item.id == first
    assert (item.method, item.path, item.body) == (
        "POST",
        "/api/staff/v1/threads/T0/close",
        {"i": 0},
    )
    assert item.description == "Close thread 0"
    assert uuid.UUID(item.idempotency_key).version == 4
    assert item.created_at.tzinfo is not None
    assert (item.attempts, item.last_error, item.failed) == (0, None, False)
    assert store.outbox_pending_count() == 2
    store.outbox_sent(first, {"ok": True})
    nxt = store.next_outbox_item()
    assert nxt is not None and nxt.id == second
    assert store.outbox_pending_count() == 1


def test_transient_failure_keeps_item_first_with_same_key(store: LocalStore) -> None:
    first, _ = _enqueue(store, 2)
    key = store.next_outbox_item().idempotency_key  # type: ignore[union-attr]
    store.outbox_attempt_failed(first, "connection refused")
    store.outbox_attempt_failed(first, "timeout")
    item = store.next_outbox_item()
    assert item is not None
    assert (item.id, item.attempts, item.last_error, item.idempotency_key) == (
        first,
        2,
        "timeout",
        key,
    )


def test_permanent_failure_parks_item_retry_and_discard(store: LocalStore) -> None:
    first, second, third = _enqueue(store, 3)
    store.outbox_failed(first, "409 Conflict: already revoked")
    assert store.next_outbox_item().id == second  # type: ignore[union-attr]
    assert store.outbox_pending_count() == 2
    failed = store.failed_outbox_items()
    assert [(f.id, f.failed, f.last_error) for f in failed] == [
        (first, True, "409 Conflict: already revoked")
    ]

    store.retry_outbox_item(first)
    assert store.failed_outbox_items() == []
    item = store.next_outbox_item()
    assert item is not None and (item.id, item.attempts, item.failed) == (first, 0, False)
    assert item.idempotency_key == failed[0].idempotency_key

    store.outbox_failed(third, "400")
    store.discard_outbox_item(third)
    assert store.failed_outbox_items() == []
    assert [i.id for i in store.pending_outbox_items()] == [first, second]


def test_unknown_ids(store: LocalStore) -> None:
    store.outbox_sent(12345, None)  # a replayed success for a removed item is harmless
    with pytest.raises(NotFoundError):
        store.retry_outbox_item(12345)
    with pytest.raises(NotFoundError):
        store.discard_outbox_item(12345)


def test_ids_are_never_reused(store: LocalStore) -> None:
    (first,) = _enqueue(store, 1)
    store.outbox_sent(first, None)
    (second,) = _enqueue(store, 1)
    assert second > first


def test_long_errors_are_truncated(store: LocalStore) -> None:
    (first,) = _enqueue(store, 1)
    store.outbox_attempt_failed(first, "x" * 100_000)
    assert len(store.next_outbox_item().last_error or "") == 2000  # type: ignore[union-attr]


def test_enqueue_rides_in_the_callers_transaction(store: LocalStore) -> None:
    with pytest.raises(RuntimeError), store.write() as uow:
        uow.enqueue("POST", "/api/staff/v1/links/L1/revoke", None, "Revoke link")
        store.set_state  # noqa: B018  (nothing else happens before the failure)
        raise RuntimeError("the local change failed")
    assert store.outbox_pending_count() == 0

    with store.write() as uow:
        a = uow.enqueue("POST", "/api/staff/v1/links/L1/revoke", None, "Revoke link")
        b = uow.enqueue("post", "/api/staff/v1/links/L2/revoke", None, "Revoke link")
    assert b.method == "POST"
    assert a.idempotency_key != b.idempotency_key
    assert store.outbox_pending_count() == 2


def test_enqueue_refuses_reads_and_relative_paths(store: LocalStore) -> None:
    with pytest.raises(ValueError):
        store.enqueue("GET", "/api/staff/v1/audit", None, "x")
    with pytest.raises(ValueError):
        store.enqueue("POST", "api/staff/v1/x", None, "x")
