"""The background-task runner: work off the GUI thread, callbacks on it, dead owners skipped."""

from __future__ import annotations

import gc
import logging
import threading
import weakref

from PySide6.QtCore import QObject, QThread

from visitdesk.desktop.tasks import TaskRunner, describe_error


def test_work_runs_off_the_gui_thread_and_callbacks_on_it(qtbot):
    runner = TaskRunner()
    gui = QThread.currentThread()
    seen: dict[str, object] = {}

    def work(x: int) -> int:
        seen["work_thread"] = threading.current_thread() is threading.main_thread()
        return x * 2

    def done(value: int) -> None:
        seen["value"] = value
        seen["callback_on_gui"] = QThread.currentThread() is gui

    runner.op(work, 21).success(done).run()
    qtbot.waitUntil(lambda: "value" in seen, timeout=5_000)
    assert seen == {"work_thread": False, "value": 42, "callback_on_gui": True}
    runner.shutdown()


def test_failure_and_progress_are_delivered(qtbot):
    runner = TaskRunner()
    steps: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def work(progress) -> None:
        for n in range(3):
            progress(n + 1, 3)
        raise ValueError("bad row")

    runner.op(work).with_progress(lambda d, t: steps.append((d, t))).failure(errors.append).run()
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert isinstance(errors[0], ValueError)
    runner.shutdown()


def test_callbacks_of_a_deleted_owner_are_dropped(qtbot):
    runner = TaskRunner()
    owner = QObject()
    release = threading.Event()
    called: list[object] = []
    future = runner.op(release.wait, 5).owned_by(owner).success(called.append).run()
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner), timeout=5_000)
    release.set()
    future.result(5)
    with qtbot.waitSignal(runner._deliver, timeout=5_000):
        runner.post(lambda: None)
    assert called == []
    runner.shutdown()


def test_unhandled_failures_are_logged_without_their_message(qtbot, caplog):
    runner = TaskRunner()
    caplog.set_level(logging.ERROR)
    future = runner.op(_raise_with_phi).run()
    qtbot.waitUntil(future.done, timeout=5_000)
    qtbot.waitUntil(lambda: bool(caplog.records), timeout=5_000)
    text = caplog.text
    assert "ValueError" in text and "test_tasks.py" in text
    assert "Jane Roe" not in text
    runner.shutdown()


def test_describe_error_without_traceback():
    assert describe_error(KeyError("Jane Roe")) == "KeyError"


def _raise_with_phi() -> None:
    raise ValueError("patient Jane Roe, born 1970-01-01")


def _alive(obj: QObject) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)


def test_work_asked_for_after_shutdown_is_dropped(qtbot):
    runner = TaskRunner()
    runner.shutdown()
    called: list[object] = []
    future = runner.op(lambda: 1).success(called.append).run()
    assert future.cancelled()
    assert called == []


def test_the_worker_side_holds_no_reference_to_the_callbacks(qtbot):
    # Callbacks close over widgets; if a worker thread dropped the last reference, the Qt object
    # would be destroyed on the wrong thread. The future (held by the worker's pool) keeps nothing.
    runner = TaskRunner()
    freed_on: list[str] = []

    class Marker:
        def __del__(self) -> None:
            freed_on.append(threading.current_thread().name)

    marker = Marker()
    delivered: list[object] = []
    release = threading.Event()

    def work(progress) -> bool:
        progress(1, 1)
        return release.wait(5)

    future = (
        runner.op(work)
        .success(lambda ok, m=marker: delivered.append(ok))
        .with_progress(lambda d, t, m=marker: None)
        .run()
    )
    del marker
    release.set()
    qtbot.waitUntil(lambda: bool(delivered), timeout=5_000)
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5_000)
    assert future.done()  # still referenced here, yet the callbacks are gone
    assert freed_on == [threading.main_thread().name]
    assert runner.waiting == 0
    runner.shutdown()


def test_a_dropped_op_releases_its_callbacks(qtbot):
    runner = TaskRunner(max_workers=1)
    release = threading.Event()
    runner.op(release.wait, 5).run()
    queued = runner.op(lambda: None).success(lambda _r: None).run()
    assert runner.waiting == 2
    runner.shutdown(wait=False)
    release.set()
    assert queued.cancelled()
    qtbot.waitUntil(lambda: runner.waiting == 0, timeout=5_000)


def test_a_running_worker_holds_no_reference_to_the_runner(qtbot):
    # The runner is a Qt object: a worker that finishes after the session closed must not be the
    # one to release it.
    runner = TaskRunner(max_workers=1)
    release = threading.Event()
    future = runner.op(release.wait, 5).success(lambda _r: None).run()
    alive = weakref.ref(runner)
    runner.shutdown(wait=False)
    del runner
    gc.collect()
    assert alive() is None
    release.set()
    assert future.result(5) is True
    qtbot.wait(50)  # the report for the runner that is gone is dropped quietly
