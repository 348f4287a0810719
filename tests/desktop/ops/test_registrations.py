"""The registration ops keep the match index current themselves and queue decisions for the portal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.models.factories import patient_item
from tests.desktop.registration_items import registration_item
from visitdesk.desktop.models import LocalStore
from visitdesk.desktop.ops.registrations import RegistrationOps
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.sync.client import PortalClient
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine


@pytest.fixture
def parts(qtbot, tmp_path: Path) -> Iterator[tuple[TaskRunner, LocalStore, SyncEngine]]:
    store = LocalStore.open(tmp_path / "store.sqlite3")
    # A real engine, never started: the ops only wake its push worker.
    client = PortalClient("https://127.0.0.1:9", ca_file=None, token_store=MemoryTokenStore())
    engine = SyncEngine(client, store)
    runner = TaskRunner()
    try:
        yield runner, store, engine
    finally:
        runner.shutdown(wait=True)
        client.close()
        store.close()


def _result(qtbot, op):  # type: ignore[no-untyped-def]
    got: list[object] = []
    errors: list[BaseException] = []
    op.success(got.append).failure(errors.append).run()
    qtbot.waitUntil(lambda: bool(got or errors), timeout=10_000)
    assert errors == []
    return got[0]


def test_patient_changes_reach_the_next_ranking(qtbot, parts) -> None:  # type: ignore[no-untyped-def]
    runner, store, engine = parts
    ops = RegistrationOps(runner, store, engine)
    store.apply_changes(
        [
            patient_item(1, "P-ann", "M1", "Ann", "Lee", date_of_birth="1975-06-07"),
            registration_item(2, "R1", "Robert", "Smith", phone="413-555-0101"),
        ],
        2,
    )
    assert _result(qtbot, ops.review("R1")).candidates == []
    assert ops.matcher.built

    # Robert's record arrives through the feed after the index was built.
    store.apply_changes([patient_item(3, "P-rob", "M2", "Robert", "Smith")], 3)
    ops.note_changes({"patient"})
    assert ops.index_stale
    review = _result(qtbot, ops.review("R1"))
    assert [c.record.portal_id for c in review.candidates][:1] == ["P-rob"]
    assert not ops.index_stale
    # Other kinds leave the index alone.
    ops.note_changes({"checkin", "registration"})
    assert not ops.index_stale


def test_a_decision_is_queued_and_the_engine_woken(qtbot, parts) -> None:  # type: ignore[no-untyped-def]
    runner, store, engine = parts
    ops = RegistrationOps(runner, store, engine)
    store.apply_changes([registration_item(1, "R1")], 1)
    wake_ups = engine._push_news
    item = _result(qtbot, ops.match("R1", "P-1", 42.0, "checked ID"))
    assert [i.id for i in store.pending_outbox_items()] == [item.id]
    assert engine._push_news > wake_ups
    assert _result(qtbot, ops.load_queue()) == []
