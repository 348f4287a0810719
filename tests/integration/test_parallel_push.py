"""Parallel outbox pushes on the real portal over loopback TLS (SQLite, and PostgreSQL when
VISITDESK_TEST_POSTGRES_URL names a scratch database).

An ASGI wrapper in front of the portal app logs every staff command (idempotency key, when it
started and ended, the real status, whether the portal replayed it) and can hold answers back or
replace one with a 502, so the tests can see which requests overlapped and what the portal did.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_portal import PortalFactory, PortalPractice, make_practice
from tests.integration.desks import FAST, Workstation, feed_for
from tests.sync.batches import ledger_columns, patient_batch
from tests.sync.fakes import wait_for
from tests.sync.portal_helpers import patient_checkin, staff_client
from visitdesk.api.commands import UPSERT_LEDGER_COLUMNS, UPSERT_PATIENTS
from visitdesk.api.wire import STAFF_PREFIX, ChangeItem, CheckInStatus
from visitdesk.api.wire_feed import batch_of
from visitdesk.desktop.models.store import LocalStore
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal
from visitdesk.sync.client import PortalClient
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine
from visitdesk.sync.store import OutboxItem

POSTGRES_URL = os.environ.get("VISITDESK_TEST_POSTGRES_URL", "")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="VISITDESK_TEST_POSTGRES_URL is not set"),
    ),
]
BULK_PATHS = (f"{STAFF_PREFIX}/patients", f"{STAFF_PREFIX}/ledger")


@dataclass
class Call:
    key: str
    path: str
    started: int  # order of events in the log
    ended: int = -1
    status: int = 0  # what the portal answered (before any replacement)
    replayed: bool = False
    replaced: bool = False  # the desk got a 502 instead


class CommandLog:
    """ASGI wrapper: logs staff commands; holds bulk answers back or replaces one with a 502.

    - `gather`: a bulk answer waits (up to 2 s) until that many bulk calls are under way, so
      calls the desk sends together visibly overlap;
    - `hold`: answers of bulk calls wait until `release()` (the portal has acted meanwhile);
    - `fail_once`: the first answer for these keys becomes a 502 after the portal acted.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.clock = 0
        self.under_way = 0
        self.most_under_way = 0
        self.gather = 0
        self.hold = False
        self.held = 0  # answers being held now
        self.fail_once: set[str] = set()

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    def release(self) -> None:
        with self.lock:
            self.hold = False

    def by_key(self, key: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.key == key]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("PUT", "POST"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        key = headers.get(b"idempotency-key", b"").decode()
        if not key or not scope["path"].startswith(STAFF_PREFIX):
            await self.app(scope, receive, send)
            return
        bulk = scope["path"] in BULK_PATHS
        with self.lock:
            call = Call(key, scope["path"], self._tick())
            self.calls.append(call)
            self.under_way += bulk
            self.most_under_way = max(self.most_under_way, self.under_way)
            replace = key in self.fail_once
            self.fail_once.discard(key)
        answer: list[dict[str, Any]] = []

        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                call.status = message["status"]
                call.replayed = dict(message.get("headers", [])).get(b"idempotency-replayed") == (
                    b"true"
                )
            answer.append(message)

        try:
            await self.app(scope, receive, keep)
            if bulk:
                await self._wait_before_answering()
        finally:
            with self.lock:
                self.under_way -= bulk
        with self.lock:
            call.ended = self._tick()
            call.replaced = replace
        if replace:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        for message in answer:
            await send(message)

    async def _wait_before_answering(self) -> None:
        deadline = time.monotonic() + 2.0
        while True:
            with self.lock:
                if self.under_way >= self.gather or time.monotonic() > deadline:
                    break
            await asyncio.sleep(0.005)
        with self.lock:
            self.held += 1
        try:
            while True:
                with self.lock:
                    if not self.hold:
                        return
                await asyncio.sleep(0.01)
        finally:
            with self.lock:
                self.held -= 1


@pytest.fixture
def logged_portal(
    portal_factory: PortalFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[RunningPortal, PortalPractice, CommandLog]]:
    logs: list[CommandLog] = []

    def wrap(app: Any) -> CommandLog:
        logs.append(CommandLog(app))
        return logs[0]

    backend = getattr(request, "param", "sqlite")
    options = {"database_url": POSTGRES_URL} if backend == "postgres" else {}
    portal = portal_factory.start(wrap=wrap, **options)
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=5, accounts=1)
    finally:
        db.dispose()
    yield portal, practice, logs[0]


def queue_patients(store: LocalStore, batches: range, size: int = 20) -> list[OutboxItem]:
    return [
        store.enqueue(
            UPSERT_PATIENTS,
            {},
            patient_batch([f"PB{b}-{n}" for n in range(size)], last_name=f"Batch{b}x"),
            f"patients {b}",
        )
        for b in batches
    ]


def queue_ledger(store: LocalStore, batches: range, size: int = 30) -> list[OutboxItem]:
    """Ledger batch b bills the first patient of patient batch b."""
    return [
        store.enqueue(
            UPSERT_LEDGER_COLUMNS,
            {},
            ledger_columns([f"LB{b}-{n}" for n in range(size)], f"PB{b}-0"),
            f"ledger {b}",
        )
        for b in batches
    ]


def whole_feed(client: PortalClient) -> list[ChangeItem]:
    items: list[ChangeItem] = []
    after = 0
    while True:
        page = client.get_changes(after, 5000, 0)
        items += page.items
        after = page.last_seq
        if not page.more:
            return items


def calls_of(log: CommandLog, items: list[OutboxItem]) -> list[Call]:
    return [call for item in items for call in log.by_key(item.idempotency_key)]


def _manager_desk_with_a_checkin(
    practice: PortalPractice, workstations: Callable[..., Workstation]
) -> tuple[Workstation, str]:
    """A manager's desk sending four bulk batches at once (not started), which has pulled a
    patient's fresh check-in; and that check-in's id."""
    desk = workstations(
        practice, client=staff_client(practice, "manager"), start=False, push_concurrency=4
    )
    checkin_id = str(patient_checkin(practice)["id"])
    desk.engine.pull_once()
    return desk, checkin_id


@pytest.mark.parametrize("logged_portal", BACKENDS, indirect=True)
def test_an_initial_load_goes_in_parallel_and_in_order(
    logged_portal: tuple[RunningPortal, PortalPractice, CommandLog],
    workstations: Callable[..., Workstation],
) -> None:
    _portal, practice, log = logged_portal
    desk, checkin_id = _manager_desk_with_a_checkin(practice, workstations)
    people = queue_patients(desk.store, range(8))
    lines = queue_ledger(desk.store, range(8))
    command = desk.store.set_checkin_status(checkin_id, CheckInStatus.ACKNOWLEDGED, "Desk One")
    later = queue_patients(desk.store, range(8, 12))
    log.gather = 4
    desk.engine.start()
    assert wait_for(lambda: desk.store.outbox_pending_count() == 0, timeout=60)
    assert desk.store.failed_outbox_items() == []

    with log.lock:
        calls = list(log.calls)
    assert all(c.status == 200 and not c.replayed for c in calls)  # no 5xx, nothing twice
    assert log.most_under_way == 4
    (status_call,) = log.by_key(command.idempotency_key)
    assert max(c.ended for c in calls_of(log, people)) < min(
        c.started for c in calls_of(log, lines)
    )
    assert max(c.ended for c in calls_of(log, lines)) < status_call.started
    assert status_call.ended < min(c.started for c in calls_of(log, later))

    observer = staff_client(practice, "manager")
    try:
        feed = whole_feed(observer)
    finally:
        observer.close()
    assert [i.seq for i in feed] == list(range(1, len(feed) + 1))  # gapless for readers
    mrns = [i.data["mrn"] for i in feed if i.kind == "patient" and i.data["mrn"].startswith("PB")]
    assert sorted(mrns) == sorted(f"PB{b}-{n}" for b in range(12) for n in range(20))
    ours = [
        (i.seq, line_id)
        for i in feed
        if i.kind == "ledger_columns"
        for line_id in batch_of(i).lines.external_id
        if line_id.startswith("LB")
    ]
    assert sorted(external_id for _, external_id in ours) == sorted(
        f"LB{b}-{n}" for b in range(8) for n in range(30)
    )
    ledger_seqs = [seq for seq, _ in ours]
    first_patients = [
        i.seq
        for i in feed
        if i.kind == "patient" and i.data["mrn"].split("-")[0] in {f"PB{b}" for b in range(8)}
    ]
    assert max(first_patients) < min(ledger_seqs)
    statuses = [i.data["status"] for i in feed if i.kind == "checkin" and i.id == checkin_id]
    assert statuses == ["arrived", "acknowledged"]


@pytest.mark.parametrize("logged_portal", BACKENDS, indirect=True)
def test_a_crash_during_a_parallel_send_applies_every_batch_once_after_restart(
    logged_portal: tuple[RunningPortal, PortalPractice, CommandLog], tmp_path: Path
) -> None:
    _portal, practice, log = logged_portal
    token_store = MemoryTokenStore()  # stands in for the keyring, which outlives the app
    path = tmp_path / "crash" / "visitdesk.sqlite3"
    client = staff_client(practice, "manager", token_store=token_store)
    store = LocalStore.open(path)
    engine = SyncEngine(client, store, push_concurrency=4, **FAST)
    checkin_id = patient_checkin(practice)["id"]
    engine.pull_once()
    people = queue_patients(store, range(8))
    command = store.set_checkin_status(checkin_id, CheckInStatus.ACKNOWLEDGED, "Desk One")
    log.hold = True
    engine.start()
    # Four batches reached the portal and were applied; their answers are held back.
    assert wait_for(lambda: log.held == 4, timeout=20)
    # The app dies before it learns anything of them.
    engine.stop(timeout=0.2)
    client.close()
    store.close()
    log.release()

    client = staff_client(practice, "manager", token_store=token_store, sign_in=False)
    assert client.resume() is not None
    store = LocalStore.open(path)
    assert store.outbox_pending_count() == 9
    engine = SyncEngine(client, store, push_concurrency=4, **FAST)
    engine.start()
    try:
        assert wait_for(lambda: store.outbox_pending_count() == 0, timeout=30)
        assert store.failed_outbox_items() == []
    finally:
        engine.stop()
        client.close()
        store.close()

    for item in [*people, command]:
        calls = log.by_key(item.idempotency_key)
        assert all(c.status == 200 for c in calls)
        assert [c.replayed for c in calls].count(False) == 1, item.description  # applied once
    resent = [item for item in people if len(log.by_key(item.idempotency_key)) == 2]
    assert len(resent) == 4  # the four in flight at the crash, answered from the portal's record
    observer = staff_client(practice, "manager")
    try:
        feed = whole_feed(observer)
    finally:
        observer.close()
    mrns = [i.data["mrn"] for i in feed if i.kind == "patient" and i.data["mrn"].startswith("PB")]
    assert sorted(mrns) == sorted(f"PB{b}-{n}" for b in range(8) for n in range(20))
    assert [i.seq for i in feed] == list(range(1, len(feed) + 1))
    statuses = [i.data["status"] for i in feed if i.kind == "checkin" and i.id == checkin_id]
    assert statuses == ["arrived", "acknowledged"]


def test_a_lost_answer_among_batches_in_flight_is_retried_alone_with_its_key(
    logged_portal: tuple[RunningPortal, PortalPractice, CommandLog],
    workstations: Callable[..., Workstation],
) -> None:
    _portal, practice, log = logged_portal
    desk, checkin_id = _manager_desk_with_a_checkin(practice, workstations)
    people = queue_patients(desk.store, range(6))
    command = desk.store.set_checkin_status(checkin_id, CheckInStatus.ACKNOWLEDGED, "Desk One")
    unlucky = people[1]
    log.gather = 4
    log.fail_once = {unlucky.idempotency_key}
    desk.engine.start()
    assert wait_for(lambda: desk.store.outbox_pending_count() == 0, timeout=30)
    assert desk.store.failed_outbox_items() == []
    assert desk.listener.failures == []

    first, retry = log.by_key(unlucky.idempotency_key)
    assert (first.status, first.replayed, first.replaced) == (200, False, True)
    assert (retry.status, retry.replayed, retry.replaced) == (200, True, False)
    for item in people:
        if item is not unlucky:
            assert [(c.status, c.replayed) for c in log.by_key(item.idempotency_key)] == [
                (200, False)
            ]
    (status_call,) = log.by_key(command.idempotency_key)
    assert status_call.started > retry.ended
    assert log.most_under_way >= 2
    observer = staff_client(practice, "manager")
    try:
        statuses = [i.data["status"] for i in feed_for(observer, "checkin", checkin_id)]
    finally:
        observer.close()
    assert statuses == ["arrived", "acknowledged"]
