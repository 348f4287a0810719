"""Cyclic garbage is collected on the GUI thread, with the interpreter's own thresholds."""

from __future__ import annotations

import gc
import threading

from visitdesk.desktop.collector import GuiThreadCollector, _LongLived, collect_if_due


class _Node:
    def __init__(self) -> None:
        self.me = self


def test_collect_if_due_follows_the_thresholds():
    saved = gc.get_threshold()
    try:
        gc.collect()
        gc.set_threshold(1_000_000, 10, 10)
        assert collect_if_due() == -1  # nothing is due right after a full collection
        gc.set_threshold(5, 10, 10)
        for _ in range(50):
            _Node()
        assert collect_if_due() == 0
    finally:
        gc.set_threshold(*saved)


def test_a_full_collection_waits_until_enough_has_been_promoted():
    saved = gc.get_threshold()
    saved_total, saved_pending = _LongLived.total, _LongLived.pending
    keep = [_Node() for _ in range(100)]
    try:
        gc.set_threshold(1, 0, 0)  # every generation is due at once
        _LongLived.total, _LongLived.pending = 10**9, 0
        assert collect_if_due() == 1  # too little promoted for a walk of the whole heap
        assert _LongLived.pending > 0
        gc.collect(0)  # one young collection since: the middle generation is due again
        keep += [_Node() for _ in range(100)]
        _LongLived.total = 0
        assert collect_if_due() == 2
        assert _LongLived.pending == 0
        assert _LongLived.total > 0
    finally:
        gc.set_threshold(*saved)
        _LongLived.total, _LongLived.pending = saved_total, saved_pending
    assert len(keep) == 200


def test_cycles_made_on_a_worker_are_freed_on_the_gui_thread(qtbot):
    was_enabled = gc.isenabled()
    collector = GuiThreadCollector(interval_ms=20)
    collector.start()
    freed_on: list[str] = []

    class Watched:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            freed_on.append(threading.current_thread().name)

    saved = gc.get_threshold()
    gc.set_threshold(50, 10, 10)
    try:
        assert not gc.isenabled()

        def churn() -> None:
            Watched()
            for _ in range(10_000):  # far past the threshold: no collection on this thread
                _Node()

        worker = threading.Thread(target=churn, name="worker")
        worker.start()
        worker.join()
        assert freed_on == []
        qtbot.waitUntil(lambda: bool(freed_on), timeout=5_000)
        assert freed_on == [threading.main_thread().name]
    finally:
        gc.set_threshold(*saved)
        collector.stop()
    assert gc.isenabled() == was_enabled
