"""The sync engine end to end: real portal over loopback TLS, real LocalStore on SQLite."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_portal import PortalFactory, PortalPractice, make_practice
from tests.integration.desks import FAST, Workstation, feed_for, status_on_portal
from tests.sync.fakes import wait_for
from tests.sync.portal_helpers import patient_checkin, staff_client
from visitdesk.api.commands import SET_CHECKIN_STATUS
from visitdesk.api.wire import (
    STAFF_PREFIX,
    CheckInStatus,
    CheckInStatusUpdate,
    PatientRecord,
)
from visitdesk.desktop.models.schema import OutboxEntry
from visitdesk.desktop.models.store import LocalStore
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine


def extra_portal(
    portal_factory: PortalFactory, **kwargs: Any
) -> tuple[RunningPortal, PortalPractice]:
    portal = portal_factory.start(**kwargs)
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        return portal, make_practice(db, portal, patients=5, accounts=1)
    finally:
        db.dispose()


# ---------------------------------------------------------------------------- pull


def test_checkin_reaches_the_desk_within_a_second(
    practice: PortalPractice, workstations: Callable[..., Workstation]
) -> None:
    desk = workstations(practice, wait_seconds=20)  # a real long-poll, as in production
    assert desk.store.patient_count() == len(practice.patient_ids)
    assert wait_for(lambda: desk.engine.status.online is True)
    started = time.monotonic()
    checkin = patient_checkin(practice)
    assert wait_for(lambda: desk.store.checkin(checkin["id"]) is not None, timeout=3)
    # The portal fixture re-reads its database only every 5 s: arriving sooner proves the wake-up.
    assert time.monotonic() - started < 1.5
    row = desk.store.checkin(checkin["id"])
    assert row is not None and row.status is CheckInStatus.ARRIVED
    assert row.last_name is not None  # joined to the cached patient
    assert wait_for(lambda: any("checkin" in kinds for kinds in desk.listener.changes))
    assert desk.engine.status.last_sync_at is not None


def test_upserted_patients_come_back_through_the_feed(
    practice: PortalPractice, workstations: Callable[..., Workstation]
) -> None:
    desk = workstations(practice, client=staff_client(practice, "manager"))
    before = desk.store.patient_count()
    records = [
        PatientRecord(
            mrn=f"IMP-{n}",
            first_name="Imported",
            last_name=f"Case{n}",
            date_of_birth=date(1970, 1, n + 1),
        )
        for n in range(3)
    ]
    result = desk.client.upsert_patients(records, "import-1")
    assert result.created == 3
    assert wait_for(lambda: desk.store.patient_count() == before + 3, timeout=3)
    assert {"IMP-0", "IMP-1", "IMP-2"} <= desk.store.patient_mrns()


# ---------------------------------------------------------------------------- push


def test_acknowledge_reaches_the_portal_and_a_second_workstation(
    practice: PortalPractice, workstations: Callable[..., Workstation]
) -> None:
    desk1 = workstations(practice, name="desk1")
    desk2 = workstations(practice, name="desk2")
    checkin = patient_checkin(practice)
    stores = (desk1.store, desk2.store)
    assert wait_for(lambda: all(s.checkin(checkin["id"]) for s in stores), timeout=3)

    staff = desk1.client.staff
    assert staff is not None
    desk1.store.set_checkin_status(checkin["id"], CheckInStatus.ACKNOWLEDGED, staff.name)
    desk1.engine.kick()

    def acknowledged_on_desk2() -> bool:
        row = desk2.store.checkin(checkin["id"])
        return row is not None and row.status is CheckInStatus.ACKNOWLEDGED

    assert wait_for(acknowledged_on_desk2, timeout=3)
    row = desk2.store.checkin(checkin["id"])
    assert row is not None and row.status_changed_by == staff.name
    assert wait_for(lambda: desk1.store.outbox_pending_count() == 0)
    assert status_on_portal(desk2.client, checkin["id"]) == "acknowledged"
    assert desk1.engine.status.outbox_pending == 0


def test_outbox_survives_a_restart_of_the_app(
    practice: PortalPractice, tmp_path: Path, workstations: Callable[..., Workstation]
) -> None:
    checkin = patient_checkin(practice)
    token_store = MemoryTokenStore()  # stands in for the keyring, which outlives the app
    path = tmp_path / "restart" / "visitdesk.sqlite3"

    client = staff_client(practice, token_store=token_store)
    store = LocalStore.open(path)
    engine = SyncEngine(client, store, **FAST)
    engine.pull_once()
    store.set_checkin_status(checkin["id"], CheckInStatus.ACKNOWLEDGED, "Desk One")
    store.set_checkin_status(checkin["id"], CheckInStatus.ROOMED, "Desk One")
    # The app is closed before the push worker ever ran.
    engine.stop()
    client.close()
    store.close()

    client = staff_client(practice, token_store=token_store, sign_in=False)
    assert client.resume() is not None
    store = LocalStore.open(path)
    assert store.outbox_pending_count() == 2
    engine = SyncEngine(client, store, **FAST)
    engine.start()
    try:
        assert wait_for(lambda: store.outbox_pending_count() == 0, timeout=5)
    finally:
        engine.stop()
        client.close()
        store.close()
    observer = staff_client(practice, "manager")
    statuses = [i.data["status"] for i in feed_for(observer, "checkin", checkin["id"])]
    assert statuses == ["arrived", "acknowledged", "roomed"]


def test_outbox_survives_the_portal_being_down(
    portal_factory: PortalFactory, workstations: Callable[..., Workstation]
) -> None:
    portal, practice = extra_portal(portal_factory)
    desk = workstations(practice)
    checkin = patient_checkin(practice)
    assert wait_for(lambda: desk.store.checkin(checkin["id"]) is not None, timeout=3)

    desk.client.close()  # idle keep-alive connections delay a portal shutdown (see test_client)
    portal.stop()
    assert wait_for(lambda: desk.engine.status.online is False, timeout=5)
    assert desk.engine.status.last_error
    desk.store.set_checkin_status(checkin["id"], CheckInStatus.ACKNOWLEDGED, "Desk One")
    desk.engine.kick()
    assert wait_for(
        lambda: any(i.attempts > 0 for i in desk.store.pending_outbox_items()), timeout=5
    )
    assert desk.store.outbox_pending_count() == 1
    assert wait_for(lambda: desk.engine.status.outbox_pending == 1)

    portal_factory.start(data_dir=portal.config.data_dir, port=portal.port)
    assert wait_for(lambda: desk.store.outbox_pending_count() == 0, timeout=10)
    assert wait_for(lambda: desk.engine.status.online is True, timeout=5)
    observer = staff_client(practice, "manager")
    statuses = [i.data["status"] for i in feed_for(observer, "checkin", checkin["id"])]
    assert statuses == ["arrived", "acknowledged"]
    observer.close()


class FailStaffCommands:
    """ASGI wrapper: the first `failures` staff check-in commands answer 500.

    With `after_commit` the real handler runs (and commits) first and only its answer is replaced,
    as when a proxy or the network loses the response.
    """

    def __init__(self, app: Any, *, failures: int, after_commit: bool) -> None:
        self.app = app
        self.remaining = failures
        self.after_commit = after_commit
        self.lock = threading.Lock()
        self.log: list[tuple[int, bool, bool]] = []  # (real status, replayed, failed by us)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith(f"{STAFF_PREFIX}/checkins/")
        ):
            await self.app(scope, receive, send)
            return
        with self.lock:
            fail = self.remaining > 0
            self.remaining -= int(fail)
        seen: dict[str, Any] = {}

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                seen["status"] = message["status"]
                seen["replayed"] = headers.get(b"idempotency-replayed") == b"true"
            if not fail:
                await send(message)

        if not fail or self.after_commit:
            await self.app(scope, receive, watch)
        with self.lock:
            self.log.append((seen.get("status", 0), seen.get("replayed", False), fail))
        if fail:
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"detail": "Injected failure."}'})


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
def test_server_errors_are_retried_and_applied_exactly_once(
    portal_factory: PortalFactory,
    workstations: Callable[..., Workstation],
    after_commit: bool,
) -> None:
    wrappers: list[FailStaffCommands] = []

    def wrap(app: Any) -> FailStaffCommands:
        wrappers.append(FailStaffCommands(app, failures=3, after_commit=after_commit))
        return wrappers[0]

    _portal, practice = extra_portal(portal_factory, wrap=wrap)
    desk = workstations(practice)
    checkin = patient_checkin(practice)
    assert wait_for(lambda: desk.store.checkin(checkin["id"]) is not None, timeout=3)

    desk.store.set_checkin_status(checkin["id"], CheckInStatus.ACKNOWLEDGED, "Desk One")
    desk.store.set_checkin_status(checkin["id"], CheckInStatus.ROOMED, "Desk One")
    desk.engine.kick()
    assert wait_for(lambda: desk.store.outbox_pending_count() == 0, timeout=10)

    log = wrappers[0].log
    assert [failed for _, _, failed in log] == [True, True, True, False, False]
    if after_commit:
        # Applied by the first delivery; every retry was answered from the idempotency record.
        assert [(status, replayed) for status, replayed, _ in log[:4]] == [
            (200, False),
            (200, True),
            (200, True),
            (200, True),
        ]
    else:
        assert log[3][:2] == (200, False)
    assert log[4][:2] == (200, False)  # the second item, applied once
    observer = staff_client(practice, "manager")
    statuses = [i.data["status"] for i in feed_for(observer, "checkin", checkin["id"])]
    assert statuses == ["arrived", "acknowledged", "roomed"]
    observer.close()
    assert desk.listener.failures == []


def test_permanent_refusal_is_reported_and_the_queue_moves_on(
    practice: PortalPractice, workstations: Callable[..., Workstation]
) -> None:
    desk = workstations(practice)
    first = patient_checkin(practice, account=0)
    second = patient_checkin(practice, account=1)
    ids = [first["id"], second["id"]]
    assert wait_for(lambda: all(desk.store.checkin(i) is not None for i in ids), timeout=3)
    # A bogus command (as if written by an older version) ahead of a good one.
    with desk.store.write() as uow:
        bad = uow.enqueue(
            SET_CHECKIN_STATUS,
            {"checkin_id": first["id"]},
            CheckInStatusUpdate(status=CheckInStatus.ROOMED),  # type: ignore[arg-type]
            "Bad",
        )
        entry = uow.session.get(OutboxEntry, bad.id)
        assert entry is not None
        entry.body = {"status": "teleported"}
    desk.store.set_checkin_status(second["id"], CheckInStatus.ACKNOWLEDGED, "Desk One")
    desk.engine.kick()
    assert wait_for(lambda: desk.store.outbox_pending_count() == 0, timeout=5)
    failed = desk.store.failed_outbox_items()
    assert [i.id for i in failed] == [bad.id]
    assert failed[0].last_error and "refused" in failed[0].last_error
    assert wait_for(lambda: [i.id for i, _ in desk.listener.failures] == [bad.id])
    assert status_on_portal(desk.client, second["id"]) == "acknowledged"


def test_sign_out_elsewhere_pauses_the_engine(
    practice: PortalPractice, workstations: Callable[..., Workstation]
) -> None:
    token_store = MemoryTokenStore()
    desk = workstations(practice, client=staff_client(practice, token_store=token_store))
    # The session is revoked on the portal (e.g. signed out by an administrator).
    other = staff_client(practice, token_store=MemoryTokenStore(token_store.get()), sign_in=False)
    other.sign_out()
    desk.client._access_token = "expired"  # the next call must refresh, which now fails
    assert wait_for(lambda: desk.engine.status.auth_needed, timeout=5)
    checkin = patient_checkin(practice)
    cred = practice.staff["front_desk"]
    desk.client.sign_in(practice.practice_code, cred.username, cred.password)
    desk.engine.auth_restored()
    assert wait_for(lambda: desk.store.checkin(checkin["id"]) is not None, timeout=5)
    assert not desk.engine.status.auth_needed
