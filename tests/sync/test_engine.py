"""SyncEngine behaviour against a scriptable fake portal and an observable store."""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.sync.fakes import (
    FakePortal,
    FakeStore,
    ProbeLocalStore,
    RecordingListener,
    StoreClosed,
    wait_for,
)
from visitdesk.sync.engine import HELD_PREFIX, EngineStopped, SyncEngine
from visitdesk.sync.errors import (
    AuthExpired,
    NotFound,
    PortalOffline,
    PortalOutdated,
    RateLimited,
    Rejected,
    ServerError,
)


@pytest.fixture
def portal() -> FakePortal:
    return FakePortal()


@pytest.fixture(params=["fake", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeStore]:
    """Each test runs against the dict store and against the real LocalStore (SQLite)."""
    if request.param == "fake":
        yield FakeStore()
        return
    local = ProbeLocalStore.open(tmp_path / "visitdesk.sqlite3")
    yield local  # type: ignore[misc]
    local.close()


@pytest.fixture
def listener() -> RecordingListener:
    return RecordingListener()


@pytest.fixture
def engine(
    portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> Iterator[SyncEngine]:
    eng = SyncEngine(
        portal,
        store,
        wait_seconds=0.2,
        page_limit=3,
        backoff_base=0.01,
        backoff_max=0.05,
        listener=listener,
        rng=random.Random(42),
    )
    yield eng
    eng.stop(timeout=2)


def test_pull_once_applies_every_page(
    engine: SyncEngine, portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> None:
    for n in range(7):
        portal.add_change("patient" if n % 2 else "checkin", f"r{n}")
    kinds = engine.pull_once()
    assert kinds == {"patient", "checkin"}
    assert store.seq == 7
    assert all(store.has("patient" if n % 2 else "checkin", f"r{n}") for n in range(7))
    assert portal.pull_calls == 3  # pages of 3, 3, 1
    assert set().union(*listener.changes) == {"patient", "checkin"}
    assert engine.status.online is True
    assert engine.status.last_sync_at is not None


def test_the_next_page_is_fetched_while_the_current_one_is_written(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    for n in range(7):
        portal.add_change("patient", f"r{n}")
    writing = threading.Event()
    release = threading.Event()
    real_apply = store.apply_pages

    def slow_apply(pages):  # type: ignore[no-untyped-def]
        writing.set()
        assert release.wait(5)
        return real_apply(pages)

    store.apply_pages = slow_apply  # type: ignore[method-assign]
    engine.start()
    assert writing.wait(2)
    # The first page is being written; the second is already asked for.
    assert wait_for(lambda: portal.pull_calls >= 2, timeout=2)
    release.set()
    assert wait_for(lambda: store.seq == 7, timeout=3)
    assert all(store.has("patient", f"r{n}") for n in range(7))


def test_catching_up_writes_several_pages_per_transaction(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    engine.catch_up_batch = 7
    for n in range(20):
        portal.add_change("patient", f"r{n}")
    batches: list[int] = []
    real_apply = store.apply_pages

    def counting_apply(pages):  # type: ignore[no-untyped-def]
        pages = list(pages)
        batches.append(sum(len(items) for items, _ in pages))
        return real_apply(pages)

    store.apply_pages = counting_apply  # type: ignore[method-assign]
    engine.pull_once()
    assert store.seq == 20
    assert all(store.has("patient", f"r{n}") for n in range(20))
    # Pages of 3, gathered until a transaction holds at least 7 items.
    assert batches == [9, 9, 2]


def test_stop_ends_a_batch_waiting_for_its_next_page_without_writing_it(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    for n in range(7):
        portal.add_change("patient", f"r{n}")
    hold = threading.Event()
    asked = threading.Event()

    def hold_the_second_page(after: int) -> None:
        if after > 0:
            asked.set()
            hold.wait(5)

    portal.before_pull = hold_the_second_page
    engine.start()
    assert asked.wait(2)
    started = time.monotonic()
    engine.stop(timeout=1)
    assert time.monotonic() - started < 1.5
    hold.set()
    # The transaction holding the first page was given up: the store is where it was.
    assert store.seq == 0
    assert not store.has("patient", "r0")


def test_a_page_fetched_ahead_that_failed_is_asked_for_again(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    for n in range(7):
        portal.add_change("patient", f"r{n}")
    calls: list[int] = []

    def fail_the_fetch_ahead(after: int) -> None:
        calls.append(after)
        if len(calls) == 2:  # the fetch ahead of the second page
            raise ServerError()

    portal.before_pull = fail_the_fetch_ahead
    engine.start()
    assert wait_for(lambda: store.seq == 7, timeout=3)
    assert all(store.has("patient", f"r{n}") for n in range(7))
    assert calls[:3] == [0, 3, 3]  # page two again after the failure, from the stored position


def test_pull_worker_delivers_new_changes_promptly(
    engine: SyncEngine, portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> None:
    engine.start()
    portal.add_change("checkin", "c1")
    assert wait_for(lambda: store.has("checkin", "c1"), timeout=2)
    assert wait_for(lambda: {"checkin"} in listener.changes, timeout=2)


def test_push_sends_in_order_with_their_own_keys(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    items = [store.enqueue(str(n), {"status": "acknowledged"}) for n in range(4)]
    assert engine.push_once() == 4
    assert [s[:2] for s in portal.sent] == [(i.command, i.params) for i in items]
    assert [s[3] for s in portal.sent] == [i.idempotency_key for i in items]
    assert store.sent == [i.id for i in items]
    assert engine.status.outbox_pending == 0


def test_transient_failures_retry_the_same_item_with_the_same_key(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    first = store.enqueue("a")
    second = store.enqueue("b")
    portal.send_errors = [PortalOffline(), ServerError(503), RateLimited(0.01)]
    engine.start()
    assert wait_for(lambda: store.sent == [first.id, second.id], timeout=5)
    keys = [s[3] for s in portal.sent]
    assert keys == [first.idempotency_key] * 4 + [second.idempotency_key]
    assert [e[0] for e in store.attempt_errors] == [first.id] * 3
    assert len(portal.applied) == 2
    assert wait_for(lambda: engine.status.online is True and engine.status.outbox_pending == 0)


def test_permanent_failure_parks_the_item_and_moves_on(
    engine: SyncEngine, portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> None:
    bad = store.enqueue("gone")
    good = store.enqueue("ok")
    portal.send_errors = [Rejected(409, "This check-in was cancelled.")]
    engine.start()
    assert wait_for(lambda: store.sent == [good.id], timeout=5)
    message = "The portal refused the request: This check-in was cancelled."
    assert store.failed_messages() == {bad.id: message}
    assert [(f[0].id, f[1]) for f in listener.failures] == [(bad.id, message)]
    assert store.attempt_errors == []


def test_not_found_is_permanent(engine: SyncEngine, portal: FakePortal, store: FakeStore) -> None:
    item = store.enqueue("x")
    portal.send_errors = [NotFound()]
    assert engine.push_once() == 0
    assert item.id in store.failed_messages()


def test_a_change_an_older_portal_has_no_route_for_is_kept_to_send_again(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    item = store.enqueue("x")
    portal.send_errors = [PortalOutdated()]
    assert engine.push_once() == 0
    assert store.failed_messages() == {item.id: PortalOutdated.user_message}
    assert store.failed_retryable() == {item.id: True}
    gone = store.enqueue("y")
    portal.send_errors = [NotFound()]
    assert engine.push_once() == 0
    assert store.failed_retryable()[gone.id] is False


def test_push_once_raises_transient_errors_and_keeps_the_item(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    item = store.enqueue("x")
    portal.send_errors = [PortalOffline()]
    with pytest.raises(PortalOffline):
        engine.push_once()
    assert store.pending_ids() == [item.id]
    assert engine.status.online is False
    assert engine.status.last_error == PortalOffline.user_message


def test_kick_wakes_the_idle_push_worker(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    engine.start()
    assert wait_for(lambda: portal.pull_calls > 0)
    item = store.enqueue("k")
    engine.kick()
    assert wait_for(lambda: store.sent == [item.id], timeout=2)


def test_offline_pull_backs_off_then_recovers(
    engine: SyncEngine, portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> None:
    portal.pull_errors = [PortalOffline(), PortalOffline(), ServerError(502)]
    portal.add_change("patient", "p1")
    engine.start()
    assert wait_for(lambda: store.has("patient", "p1"), timeout=5)
    assert wait_for(lambda: engine.status.online is True)
    seen = [s.online for s in listener.statuses]
    assert False in seen and seen[-1] is True
    assert engine.status.last_error is None


def test_auth_expired_on_push_pauses_until_restored(
    engine: SyncEngine, portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> None:
    item = store.enqueue("a")
    portal.send_errors = [AuthExpired()]
    engine.start()
    assert wait_for(lambda: engine.status.auth_needed, timeout=2)
    assert engine.status.last_error == AuthExpired.user_message
    assert wait_for(lambda: any(s.auth_needed for s in listener.statuses))
    # Paused, not failed: the item waits for the user to sign in again.
    assert store.sent == [] and store.failed_messages() == {} and store.attempt_errors == []
    assert len(portal.sent) == 1
    engine.auth_restored()
    assert wait_for(lambda: store.sent == [item.id], timeout=2)
    assert [s[3] for s in portal.sent] == [item.idempotency_key] * 2
    assert not engine.status.auth_needed


def test_auth_expired_on_pull_pauses_until_restored(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    portal.pull_errors = [AuthExpired()]
    engine.start()
    assert wait_for(lambda: engine.status.auth_needed, timeout=2)
    portal.add_change("patient", "p1")
    calls = portal.pull_calls
    engine.auth_restored()
    assert wait_for(lambda: store.has("patient", "p1"), timeout=2)
    assert portal.pull_calls > calls


def test_stop_drops_a_page_that_arrives_afterwards(
    engine: SyncEngine, portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> None:
    gate = threading.Event()
    portal.pull_gate = gate
    engine.start()
    assert wait_for(lambda: portal.pull_calls == 1)
    engine.stop(timeout=1)
    # The worker still in its long-poll holds no listener: on the desktop that is a Qt object,
    # which must not be released on the worker's thread.
    assert any(t.is_alive() for t in engine._threads)
    assert listener not in gc.get_referents(engine.__dict__)
    store.close()
    portal.add_change("checkin", "late")
    gate.set()  # the long-poll in flight now returns its page
    assert wait_for(lambda: not any(t.is_alive() for t in engine._threads), timeout=3)
    assert store.calls_after_close == []
    assert not store.has("checkin", "late")


def test_stop_while_push_is_sending_does_not_record_the_result(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    item = store.enqueue("a")
    entered = threading.Event()
    release = threading.Event()
    real_send = portal.send

    def slow_send(*args: object) -> object:
        entered.set()
        release.wait(5)
        return real_send(*args)  # type: ignore[arg-type]

    portal.send = slow_send  # type: ignore[method-assign,assignment]
    engine.start()
    assert entered.wait(2)
    stopper = threading.Thread(target=engine.stop, kwargs={"timeout": 0.2})
    stopper.start()
    stopper.join(2)
    store.close()
    release.set()
    assert wait_for(lambda: not any(t.is_alive() for t in engine._threads), timeout=3)
    assert store.calls_after_close == []
    # Not recorded as sent: the next start re-sends under the same key and the portal replays.
    assert store.pending_ids() == [item.id]


def test_stopped_engine_refuses_to_work(engine: SyncEngine) -> None:
    engine.stop()
    with pytest.raises(EngineStopped):
        engine.pull_once()
    with pytest.raises(EngineStopped):
        engine.start()


def test_helpers_refuse_to_race_the_workers(engine: SyncEngine) -> None:
    engine.start()
    with pytest.raises(RuntimeError):
        engine.pull_once()
    with pytest.raises(RuntimeError):
        engine.start()


def test_sync_until_idle_without_workers(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    portal.add_change("patient", "p1")
    store.enqueue("a")
    assert engine.sync_until_idle(timeout=2)
    assert store.seq == 1 and store.pending_ids() == []


def test_sync_until_idle_with_workers(
    engine: SyncEngine, portal: FakePortal, store: FakeStore
) -> None:
    engine.start()
    portal.add_change("patient", "p1")
    store.enqueue("a")
    engine.kick()
    assert engine.sync_until_idle(timeout=5)
    assert store.seq == 1 and store.pending_ids() == []


def test_rate_limit_retry_after_is_honoured(engine: SyncEngine) -> None:
    engine.backoff_max = 10
    assert engine._delay(0, RateLimited(3)) >= 3
    assert engine._delay(0, RateLimited(3600)) <= 10


def test_listener_errors_do_not_kill_the_workers(portal: FakePortal, store: FakeStore) -> None:
    class Broken:
        def on_changes(self, kinds: set[str]) -> None:
            raise RuntimeError("boom")

        def on_status(self, status: object) -> None:
            raise RuntimeError("boom")

        def on_outbox_failed(self, item: object, message: str) -> None:
            raise RuntimeError("boom")

    eng = SyncEngine(portal, store, wait_seconds=0.1, listener=Broken(), backoff_base=0.01)
    eng.start()
    try:
        portal.add_change("patient", "p1")
        assert wait_for(lambda: store.has("patient", "p1"))
        item = store.enqueue("a")
        eng.kick()
        assert wait_for(lambda: store.sent == [item.id])
    finally:
        eng.stop()


def test_store_closed_raises_in_fake() -> None:
    store = FakeStore()
    store.close()
    with pytest.raises(StoreClosed):
        store.last_seq()


def test_a_change_older_than_the_portal_remembers_is_held_not_sent(
    engine: SyncEngine, portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> None:
    old = store.enqueue("old")
    engine.hold_after = timedelta(0)  # everything queued counts as too old
    assert engine.push_once() == 0
    assert portal.sent == []
    (message,) = store.failed_messages().values()
    assert message.startswith(HELD_PREFIX)
    assert [f[0].id for f in listener.failures] == [old.id]
    engine.hold_after = timedelta(days=30)
    fresh = store.enqueue("fresh")
    assert engine.push_once() == 1
    assert store.sent == [fresh.id]
