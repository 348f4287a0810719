"""Secure messages end to end: the real portal over loopback TLS, real desks (LocalStore + sync
engine), and a patient on the patient API."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures_portal import PortalPractice, http_session
from tests.portal.helpers import patient_headers
from tests.portal.messages_api import start_thread
from tests.sync.fakes import RecordingListener, wait_for
from tests.sync.portal_helpers import patient_checkin, staff_client
from visitdesk.api.wire_messages import Colleague
from visitdesk.desktop.models import messages
from visitdesk.desktop.models.store import LocalStore
from visitdesk.sync.client import PortalClient
from visitdesk.sync.engine import SyncEngine

FAST: dict[str, Any] = {"wait_seconds": 1.0, "backoff_base": 0.05, "backoff_max": 0.3}


@dataclass
class Desk:
    client: PortalClient
    store: LocalStore
    engine: SyncEngine
    staff_id: str

    def pool(self, pool: messages.Pool) -> messages.PoolCount:
        with self.store.read() as session:
            return next(c for c in messages.pool_counts(session, self.staff_id) if c.pool is pool)

    def threads(self, pool: messages.Pool) -> list[messages.ThreadRow]:
        with self.store.read() as session:
            return messages.list_threads(session, pool, self.staff_id)


@pytest.fixture
def desks(tmp_path: Path) -> Iterator[Callable[..., Desk]]:
    made: list[Desk] = []

    def make(
        practice: PortalPractice, name: str, role: str = "front_desk", start: bool = True
    ) -> Desk:
        client = staff_client(practice, role)
        store = LocalStore.open(tmp_path / name / "visitdesk.sqlite3")
        engine = SyncEngine(
            client, store, listener=RecordingListener(), rng=random.Random(3), **FAST
        )
        engine.pull_once()
        if start:
            engine.start()
        desk = Desk(client, store, engine, str(client.staff.id if client.staff else ""))
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.engine.stop(timeout=2)
        desk.client.close()
        desk.store.close()


@pytest.fixture
def http(practice: PortalPractice) -> Iterator[requests.Session]:
    with http_session(practice.ca_file) as session:
        yield session


def _patient_thread(
    http: requests.Session, practice: PortalPractice, headers: dict[str, str], thread_id: str
) -> dict[str, Any]:
    response = http.get(f"{practice.patient_url}/threads/{thread_id}", headers=headers, timeout=10)
    return dict(response.json())


def test_patient_writes_desk_assigns_and_replies_patient_reads(
    practice: PortalPractice, desks: Callable[..., Desk], http: requests.Session
) -> None:
    desk = desks(practice, "a")
    patient = patient_headers(http, practice)
    thread = start_thread(http, practice, patient, practice.patients[0].patient_ids[0])
    assert wait_for(lambda: desk.pool(messages.Pool.UNASSIGNED).unread == 1, timeout=10)
    (row,) = desk.threads(messages.Pool.UNASSIGNED)
    assert row.id == thread["id"]
    assert row.unread and row.patient_name  # the patient is cached from the feed
    assert row.preview == "Can I move my appointment to Friday?"

    me = next(c for c in desk.client.colleagues() if c.id == desk.staff_id)
    messages.assign(desk.store, row.id, me.id, me.name)
    messages.reply(desk.store, row.id, "Friday at 10 is yours.", me.name)
    desk.engine.kick()
    assert wait_for(lambda: desk.store.outbox_pending_count() == 0, timeout=10)
    seen = _patient_thread(http, practice, patient, row.id)
    assert [m["body"] for m in seen["messages"]] == [
        "Can I move my appointment to Friday?",
        "Friday at 10 is yours.",
    ]
    assert seen["unread"] is True
    # Back through the feed: the reply replaces the local pending copy; Mine holds the thread.
    assert wait_for(lambda: desk.pool(messages.Pool.MINE).total == 1, timeout=10)

    def settled() -> bool:
        with desk.store.read() as session:
            detail = messages.thread_detail(session, row.id)
        return [m.state for m in detail.messages] == [None, None]

    assert wait_for(settled, timeout=10)
    assert desk.pool(messages.Pool.UNASSIGNED).total == 0
    # Search finds it by any word, in any pool.
    with desk.store.read() as session:
        assert [
            t.id
            for t in messages.list_threads(session, messages.Pool.CLOSED, desk.staff_id, "frid")
        ] == [row.id]


def test_reading_on_one_desk_clears_the_unread_count_on_another(
    practice: PortalPractice, desks: Callable[..., Desk], http: requests.Session
) -> None:
    desk_a = desks(practice, "a")
    desk_b = desks(practice, "b", "manager")
    patient = patient_headers(http, practice)
    thread = start_thread(http, practice, patient, practice.patients[0].patient_ids[0])
    for desk in (desk_a, desk_b):
        assert wait_for(lambda d=desk: d.pool(messages.Pool.UNASSIGNED).unread == 1, timeout=10)
    detail, item = messages.open_thread(desk_a.store, thread["id"])
    assert item is not None and detail.unread is False
    desk_a.engine.kick()
    assert wait_for(lambda: desk_b.pool(messages.Pool.UNASSIGNED).unread == 0, timeout=10)
    assert desk_b.pool(messages.Pool.UNASSIGNED).total == 1  # read, still waiting for someone


def test_im_here_arrival_chat_is_answered_by_the_desk_and_read_by_the_patient(
    practice: PortalPractice, desks: Callable[..., Desk], http: requests.Session
) -> None:
    desk = desks(practice, "a")
    checkin = patient_checkin(practice)
    assert wait_for(
        lambda: messages.arrival_thread(desk.store, checkin["id"]) is not None, timeout=10
    )
    thread_id = messages.arrival_thread(desk.store, checkin["id"])
    assert thread_id == checkin["thread_id"]
    assert desk.pool(messages.Pool.ARRIVALS).unread == 1
    messages.reply(desk.store, str(thread_id), "Welcome! Please have a seat.", "Front Desk")
    desk.engine.kick()
    patient = patient_headers(http, practice)
    page = http.get(
        f"{practice.patient_url}/threads/{thread_id}/messages",
        params={"after": 1, "wait": 10},
        headers=patient,
        timeout=20,
    ).json()
    assert [m["body"] for m in page["messages"]] == ["Welcome! Please have a seat."]


def test_a_refused_reply_shows_failed(
    practice: PortalPractice, desks: Callable[..., Desk], http: requests.Session
) -> None:
    patient = patient_headers(http, practice)
    start_thread(http, practice, patient, practice.patients[0].patient_ids[0])
    desk = desks(practice, "a", start=False)
    assert desk.pool(messages.Pool.UNASSIGNED).total == 1
    # A thread the portal does not know (as if deleted there): the reply is refused for good.
    with desk.store.write() as uow:
        uow.session.execute(messages.table_of(messages.Thread).update().values(id="gone-thread"))
    messages.reply(desk.store, "gone-thread", "Hello?", "Front Desk")
    with desk.store.read() as session:
        assert (
            messages.thread_detail(session, "gone-thread").messages[-1].state
            is messages.ReplyState.SENDING
        )
    desk.engine.push_once()
    with desk.store.read() as session:
        assert (
            messages.thread_detail(session, "gone-thread").messages[-1].state
            is messages.ReplyState.FAILED
        )
    assert Colleague  # the wire model the desk's assign dialog lists


_WRITE_REPLY_AND_HANG = """
import sys, threading
from pathlib import Path
from visitdesk.desktop.models import messages
from visitdesk.desktop.models.store import LocalStore
store = LocalStore.open(Path(sys.argv[1]))
messages.reply(store, sys.argv[2], "We have your message and will call you today.", "Front Desk")
print("written", flush=True)
threading.Event().wait()
"""


def test_offline_reply_survives_a_killed_app_and_is_delivered_once(
    portal_factory: Any, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.fixtures_portal import make_practice
    from visitdesk.portal.persistence.db import Database

    portal = portal_factory.start()
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=10, accounts=1)
    finally:
        db.dispose()
    with http_session(practice.ca_file) as session:
        patient = patient_headers(session, practice)
        thread = start_thread(session, practice, patient, practice.patients[0].patient_ids[0])
    store_path = tmp_path / "desk" / "visitdesk.sqlite3"
    client = staff_client(practice)
    store = LocalStore.open(store_path)
    SyncEngine(client, store, **FAST).pull_once()
    store.close()
    data_dir, port = portal.config.data_dir, portal.port
    portal.stop()

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    app = subprocess.Popen(
        [sys.executable, "-c", _WRITE_REPLY_AND_HANG, str(store_path), thread["id"]],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == b"written"
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        if app.stdout is not None:
            app.stdout.close()

    portal_factory.start(data_dir=data_dir, port=port)
    store = LocalStore.open(store_path)
    engine = SyncEngine(client, store, listener=RecordingListener(), **FAST)
    try:
        assert store.outbox_pending_count() == 1
        engine.start()
        assert wait_for(lambda: store.outbox_pending_count() == 0, timeout=15)
        engine.kick()
        assert wait_for(lambda: _pending_replies(store) == 0, timeout=15)
    finally:
        engine.stop(timeout=2)
        store.close()
        client.close()
    with http_session(practice.ca_file) as session:
        patient = patient_headers(session, practice)
        seen = _patient_thread(session, practice, patient, thread["id"])
    bodies = [m["body"] for m in seen["messages"]]
    assert bodies.count("We have your message and will call you today.") == 1
    assert len(bodies) == 2


def _pending_replies(store: LocalStore) -> int:
    with store.read() as session:
        return len(session.scalars(messages.select(messages.PendingReply)).all())
