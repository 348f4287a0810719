"""Workstations for integration tests: a signed-in client, a real LocalStore and a sync engine."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_portal import PortalPractice
from tests.sync.fakes import RecordingListener
from tests.sync.portal_helpers import staff_client
from visitdesk.api.wire import ChangeItem
from visitdesk.desktop.models.store import LocalStore
from visitdesk.sync.client import PortalClient
from visitdesk.sync.engine import SyncEngine

FAST: dict[str, Any] = {"wait_seconds": 1.0, "backoff_base": 0.05, "backoff_max": 0.3}


@dataclass
class Workstation:
    """One desk: a signed-in client, a local store and a sync engine."""

    client: PortalClient
    store: LocalStore
    engine: SyncEngine
    listener: RecordingListener

    def shutdown(self) -> None:
        self.engine.stop(timeout=2)
        self.client.close()
        self.store.close()


@pytest.fixture
def workstations(tmp_path: Path) -> Iterator[Callable[..., Workstation]]:
    made: list[Workstation] = []

    def make(
        practice: PortalPractice,
        *,
        name: str = "desk1",
        client: PortalClient | None = None,
        start: bool = True,
        **engine_options: Any,
    ) -> Workstation:
        client = client or staff_client(practice)
        store = LocalStore.open(tmp_path / name / "visitdesk.sqlite3")
        listener = RecordingListener()
        options = {**FAST, **engine_options}
        engine = SyncEngine(client, store, listener=listener, rng=random.Random(5), **options)
        station = Workstation(client, store, engine, listener)
        made.append(station)
        if start:
            engine.pull_once()
            engine.start()
        return station

    yield make
    for station in made:
        station.shutdown()


def feed_for(client: PortalClient, kind: str, record_id: str) -> list[ChangeItem]:
    """Every feed item the portal holds for one record (the portal-side truth)."""
    items: list[ChangeItem] = []
    after = 0
    while True:
        page = client.get_changes(after, 5000, 0)
        items += [i for i in page.items if i.kind == kind and i.id == record_id]
        after = page.last_seq
        if not page.more:
            return items


def status_on_portal(client: PortalClient, checkin_id: str) -> str:
    return str(feed_for(client, "checkin", checkin_id)[-1].data["status"])
