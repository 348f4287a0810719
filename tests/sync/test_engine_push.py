"""The push workers sending commuting bulk batches at once while ordered commands keep their place.

Against the scriptable fake portal (which logs when each send starts and ends) and both stores;
tests/integration/test_parallel_push.py does the same against the real portal over TLS.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sync.batches import ledger_batch, patient_batch
from tests.sync.fakes import FakePortal, FakeStore, ProbeLocalStore, RecordingListener, wait_for
from visitdesk.api.commands import UPSERT_LEDGER, UPSERT_PATIENTS
from visitdesk.sync.engine import SyncEngine
from visitdesk.sync.errors import Rejected, ServerError
from visitdesk.sync.store import OutboxItem


@pytest.fixture
def portal() -> FakePortal:
    return FakePortal()


@pytest.fixture(params=["fake", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeStore]:
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
def make_engine(
    portal: FakePortal, store: FakeStore, listener: RecordingListener
) -> Iterator[Callable[..., SyncEngine]]:
    made: list[SyncEngine] = []

    def make(push_concurrency: int = 4) -> SyncEngine:
        engine = SyncEngine(
            portal,
            store,
            wait_seconds=0.2,
            backoff_base=0.01,
            backoff_max=0.05,
            listener=listener,
            rng=random.Random(7),
            push_concurrency=push_concurrency,
        )
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.stop(timeout=2)


class Gate:
    """Holds the portal's answers to chosen idempotency keys until they are released."""

    def __init__(self, portal: FakePortal, keys: set[str]) -> None:
        self.held = set(keys)
        self.cond = threading.Condition()
        portal.before_send = self

    def __call__(self, _command: str, key: str) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: key not in self.held, timeout=10)

    def release(self, keys: set[str] | None = None) -> None:
        with self.cond:
            self.held = set() if keys is None else self.held - keys
            self.cond.notify_all()


def patients(store: FakeStore, count: int, start: int = 0) -> list[OutboxItem]:
    return [
        store.enqueue_command(UPSERT_PATIENTS, patient_batch([f"M{n}a", f"M{n}b"]))
        for n in range(start, start + count)
    ]


def ledgers(store: FakeStore, count: int) -> list[OutboxItem]:
    return [
        store.enqueue_command(UPSERT_LEDGER, ledger_batch([f"L{n}a", f"L{n}b"], "M0a"))
        for n in range(count)
    ]


def position(portal: FakePortal, event: str, item: OutboxItem, nth: int = 1) -> int:
    """Index in the portal's log of the nth `event` ("start"/"end") of `item`'s key."""
    hits = [i for i, e in enumerate(portal.events) if e == (event, item.idempotency_key)]
    return hits[nth - 1]


def keys(items: list[OutboxItem]) -> set[str]:
    return {item.idempotency_key for item in items}


def test_commuting_batches_are_in_flight_together_up_to_the_setting(
    make_engine: Callable[..., SyncEngine], portal: FakePortal, store: FakeStore
) -> None:
    batches = patients(store, 6)
    gate = Gate(portal, keys(batches))
    make_engine(push_concurrency=4).start()
    assert wait_for(lambda: portal.sending == 4, timeout=5)
    assert not wait_for(lambda: portal.sending > 4, timeout=0.3)
    gate.release()
    assert wait_for(lambda: store.pending_ids() == [], timeout=5)
    assert portal.most_sending == 4
    assert sorted(k for _, _, _, k in portal.sent) == sorted(keys(batches))  # each once


def test_one_at_a_time_when_the_setting_is_one(
    make_engine: Callable[..., SyncEngine], portal: FakePortal, store: FakeStore
) -> None:
    batches = patients(store, 4)
    make_engine(push_concurrency=1).start()
    assert wait_for(lambda: store.pending_ids() == [], timeout=5)
    assert portal.most_sending == 1
    assert [k for _, _, _, k in portal.sent] == [b.idempotency_key for b in batches]


def test_a_command_queued_after_batches_is_sent_alone_once_they_are_done(
    make_engine: Callable[..., SyncEngine], portal: FakePortal, store: FakeStore
) -> None:
    before = patients(store, 3)
    command = store.enqueue("c1")
    after = patients(store, 2, start=10)
    gate = Gate(portal, keys(before))
    make_engine().start()
    assert wait_for(lambda: portal.sending == 3, timeout=5)
    # A worker is free, but the command waits for the batches queued before it.
    assert not wait_for(lambda: len(portal.sent) > 3, timeout=0.3)
    gate.release()
    assert wait_for(lambda: store.pending_ids() == [], timeout=5)
    command_start = position(portal, "start", command)
    assert all(position(portal, "end", b) < command_start for b in before)
    command_end = position(portal, "end", command)
    assert command_end == command_start + 1  # nothing else was in flight meanwhile
    assert all(position(portal, "start", b) > command_end for b in after)


def test_ledger_batches_wait_for_the_patient_batches_queued_before_them(
    make_engine: Callable[..., SyncEngine], portal: FakePortal, store: FakeStore
) -> None:
    people = patients(store, 2)
    lines = ledgers(store, 3)
    gate = Gate(portal, keys(people) | keys(lines))
    make_engine().start()
    assert wait_for(lambda: portal.sending == 2, timeout=5)
    assert not wait_for(lambda: portal.sending > 2, timeout=0.3)
    assert {k for _, _, _, k in portal.sent} == keys(people)
    gate.release(keys(people))  # the patients answer; the ledger batches are held together
    assert wait_for(lambda: portal.sending == 3, timeout=5)
    gate.release()
    assert wait_for(lambda: store.pending_ids() == [], timeout=5)
    last_patient_end = max(position(portal, "end", p) for p in people)
    assert all(position(portal, "start", line) > last_patient_end for line in lines)


def test_a_transient_failure_of_one_batch_in_flight_retries_it_alone_with_its_key(
    make_engine: Callable[..., SyncEngine],
    portal: FakePortal,
    store: FakeStore,
    listener: RecordingListener,
) -> None:
    batches = patients(store, 4)
    command = store.enqueue("c1")
    flaky = batches[1]
    arrived = threading.Event()
    failures = [ServerError(503)]

    def fail_once(_command: str, key: str) -> None:
        if key == flaky.idempotency_key and failures:
            raise failures.pop()
        if key != command.idempotency_key:
            # Every batch is in flight before any answers.
            arrived.wait(5)

    portal.before_send = fail_once
    engine = make_engine()
    engine.start()
    assert wait_for(lambda: portal.sending >= 3, timeout=5)
    arrived.set()
    assert wait_for(lambda: store.pending_ids() == [], timeout=5)
    sent_keys = [k for _, _, _, k in portal.sent]
    assert sent_keys.count(flaky.idempotency_key) == 2  # retried with the same key
    assert all(sent_keys.count(b.idempotency_key) == 1 for b in batches if b is not flaky)
    assert set(portal.applied) == keys(batches) | {command.idempotency_key}
    assert [item_id for item_id, _ in store.attempt_errors] == [flaky.id]
    # The command after the batches went only once the retried one was accepted.
    assert position(portal, "start", command) > position(portal, "end", flaky, nth=2)
    assert listener.failures == []
    assert wait_for(lambda: engine.status.outbox_pending == 0)


def test_a_refused_batch_is_parked_and_the_rest_go_on(
    make_engine: Callable[..., SyncEngine],
    portal: FakePortal,
    store: FakeStore,
    listener: RecordingListener,
) -> None:
    batches = patients(store, 3)
    command = store.enqueue("c1")
    refused = batches[2]

    def refuse(_command: str, key: str) -> None:
        if key == refused.idempotency_key:
            raise Rejected(422, "no such field")

    portal.before_send = refuse
    make_engine().start()
    assert wait_for(lambda: store.pending_ids() == [], timeout=5)
    assert list(store.failed_messages()) == [refused.id]
    assert wait_for(lambda: [i.id for i, _ in listener.failures] == [refused.id])
    assert set(portal.applied) == keys(batches[:2]) | {command.idempotency_key}
    assert position(portal, "start", command) > position(portal, "end", refused)
