"""One load at a time: notices that arrive during a load become one more load after it."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget

from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.desktop.views.reload import Reload


def test_requests_during_a_load_fold_into_one_more(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner()
    owner = QWidget()
    qtbot.addWidget(owner)
    gate = threading.Event()
    started: list[int] = []
    shown: list[int] = []
    failures: list[BaseException] = []

    def load() -> Op[int]:
        number = len(started) + 1
        started.append(number)

        def work() -> int:
            gate.wait(10)
            if number == 3:
                raise OSError("disk")
            return number

        return runner.op(work)

    reload = Reload(owner, load, shown.append, failures.append)
    try:
        reload.request()
        for _ in range(5):
            reload.request()  # all while the first load waits
        assert started == [1] and reload.loading
        gate.set()
        qtbot.waitUntil(lambda: shown == [1, 2] and not reload.loading, timeout=10_000)
        assert started == [1, 2]
        # A failed load is reported and still lets the next request run.
        reload.request()
        reload.request()
        qtbot.waitUntil(lambda: len(started) == 4 and not reload.loading, timeout=10_000)
        assert [type(e) for e in failures] == [OSError]
        assert shown == [1, 2, 4]
    finally:
        gate.set()
        runner.shutdown(wait=True)
