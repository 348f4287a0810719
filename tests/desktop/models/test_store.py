from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.desktop.models.factories import patient_item
from visitdesk.api.commands import REVOKE_SECURITY_CODE
from visitdesk.api.wire import PracticeInfo
from visitdesk.desktop.models import LocalStore, PracticeMeta


def test_practice_metadata_round_trip(store: LocalStore) -> None:
    assert store.practice() is None
    meta = PracticeMeta(
        id="pr1",
        code="NORTH",
        name="North Clinic",
        timezone="America/Chicago",
        portal_url="https://portal.example:8443",
    )
    store.set_practice(meta)
    assert store.practice() == meta


def test_sync_state_and_last_sync(store: LocalStore) -> None:
    assert store.get_state("k") is None
    store.set_state("k", "1")
    store.set_state("k", "2")
    assert store.get_state("k") == "2"
    store.mark_synced_now()
    first = store.last_sync_at()
    assert first is not None and first.tzinfo is not None


def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with LocalStore.open(path) as store:
        store.apply_changes([patient_item(1, "P1", "M1")], 1)
    with LocalStore.open(path) as store:
        assert (store.patient_count(), store.last_seq()) == (1, 1)


def test_write_is_not_reentrant(store: LocalStore) -> None:
    with pytest.raises(RuntimeError, match="re-entrant"), store.write():
        store.set_state("k", "v")
    assert store.get_state("k") is None


def test_reads_inside_a_write_do_not_block(store: LocalStore) -> None:
    with store.write() as uow:
        uow.enqueue(REVOKE_SECURITY_CODE, {"code_id": "S1"}, None, "x")
        # Another connection sees the last committed state, without waiting for the lock.
        assert store.outbox_pending_count() == 0
    assert store.outbox_pending_count() == 1


def test_concurrent_writers_and_readers(store: LocalStore) -> None:
    """The pull thread, the push thread and a GUI worker at once: no 'database is locked'."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run(work: object) -> None:
        try:
            start.wait()
            work()  # type: ignore[operator]
        except BaseException as error:
            errors.append(error)

    def pull() -> None:
        for page in range(20):
            items = [patient_item(page * 50 + i, f"P{page}-{i}", f"M{page}-{i}") for i in range(50)]
            store.apply_changes(items, page)

    def push() -> None:
        for _ in range(60):
            item = store.next_outbox_item()
            if item is not None:
                store.outbox_sent(item.id, {})

    def gui() -> None:
        for i in range(60):
            store.enqueue(REVOKE_SECURITY_CODE, {"code_id": f"S{i}"}, None, "Revoke")

    def reader() -> None:
        for _ in range(60):
            store.patient_count()
            store.outbox_pending_count()

    threads = [threading.Thread(target=run, args=(w,)) for w in (pull, push, gui, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert store.patient_count() == 1000
    assert store.last_seq() == 19


def test_practice_from_the_portals_practice_info(store: LocalStore) -> None:
    info = PracticeInfo(id="pr1", code="N", name="North", timezone="America/Denver")
    store.set_practice(info, "https://portal.example")
    assert store.practice() == PracticeMeta(
        "pr1", "N", "North", "America/Denver", "https://portal.example"
    )
    with pytest.raises(TypeError):
        store.set_practice(info)
