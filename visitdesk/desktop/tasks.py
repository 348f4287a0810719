"""The one way the GUI runs blocking work: off the GUI thread, results delivered back on it.

Network calls, bulk SQL and PDF rendering go through `TaskRunner.op(...)`. The callable runs on a
worker thread; `success` / `failure` / `progress` callbacks run on the GUI thread through a queued
Qt signal, so they may touch widgets. If the widget that asked for the work is gone by the time the
result arrives, the callbacks are dropped rather than called on a deleted object.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import threading
import traceback
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Delivery:
    callback: Callable[..., None]
    args: tuple[Any, ...]
    owner: QObject | None


@dataclass
class _Callbacks:
    """What one running `Op` calls back on the GUI thread; kept by the runner, never by a worker."""

    success: Callable[[Any], None] | None
    failure: Callable[[BaseException], None] | None
    progress: Callable[[int, int], None] | None
    owner: QObject | None


class _Courier(QObject):
    """Carries reports from worker threads to the runner that asked, on the GUI thread.

    Made once, on the GUI thread, and kept for the life of the process: workers hold only it and a
    weak reference to their runner, so no worker ever drops the last reference to a Qt object.
    """

    report = Signal(object, int, str, object)  # weakref to the runner, op number, what, payload

    def __init__(self) -> None:
        super().__init__()
        self.report.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object, int, str, object)
    def _deliver(
        self, runner_ref: weakref.ref[TaskRunner], number: int, what: str, payload: Any
    ) -> None:
        runner = runner_ref()
        if runner is not None and shiboken6.isValid(runner):
            runner._on_report(number, what, payload)


_courier: _Courier | None = None


def _gui_courier() -> _Courier:
    global _courier
    if _courier is None:
        _courier = _Courier()
    return _courier


def _report(runner_ref: weakref.ref[TaskRunner], number: int, what: str, payload: Any) -> None:
    _gui_courier().report.emit(runner_ref, number, what, payload)


def _report_progress(
    runner_ref: weakref.ref[TaskRunner], number: int, done: int, total: int
) -> None:
    _report(runner_ref, number, "progress", (done, total))


def _report_finished(runner_ref: weakref.ref[TaskRunner], number: int, future: Future[Any]) -> None:
    if future.cancelled():
        _report(runner_ref, number, "dropped", None)
        return
    error = future.exception()
    if error is None:
        _report(runner_ref, number, "success", future.result())
    else:
        _report(runner_ref, number, "failure", error)


class _Activity:
    """Counts the calls running on the workers (kept apart from the runner, a Qt object)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.lock:
            self.active += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self.lock:
                self.active -= 1


class TaskRunner(QObject):
    """Runs blocking callables on a small thread pool and calls back on the GUI thread.

    Worker threads never hold a reference to the callbacks of an `Op` (they usually close over a
    widget): the runner keeps them on the GUI thread under a number, and the worker only posts the
    number with its result. So the last reference to a widget is never dropped on a worker thread,
    which would destroy the Qt object on the wrong thread.
    """

    _deliver = Signal(object)

    def __init__(self, max_workers: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="visitdesk-task"
        )
        # Always queued, even when posted from the GUI thread itself (a task that finished before
        # `run()` attached its callback): callbacks then never run inside the caller's `run()`,
        # and arrive in the order they were posted, after any progress reports.
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)
        _gui_courier()  # made here, on the GUI thread
        self._activity = _Activity()
        self._closed = False
        self._numbers = itertools.count(1)
        self._waiting: dict[int, _Callbacks] = {}

    def op(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Op[T]:
        """Prepare `fn(*args, **kwargs)` to run off the GUI thread; call `.run()` to start it."""
        return Op(self, fn, args, kwargs)

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run `fn` on a worker thread and return its future (await it with `wrap_future`).

        After `shutdown` (the session is closing) nothing new starts: the future comes back
        cancelled, so a late refresh request from a closing view is simply dropped.
        """
        if self._closed:
            dropped: Future[T] = Future()
            dropped.cancel()
            return dropped
        try:
            return self._pool.submit(self._activity.run, fn, *args, **kwargs)
        except RuntimeError:  # shut down by another thread between the check and the submit
            dropped = Future()
            dropped.cancel()
            return dropped

    async def run_async(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await `fn(*args)` from a coroutine on the qasync loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    @property
    def active(self) -> int:
        with self._activity.lock:
            return self._activity.active

    @property
    def waiting(self) -> int:
        """Ops whose callbacks have not been delivered (or dropped) yet."""
        return len(self._waiting)

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def post(self, callback: Callable[..., None], *args: Any, owner: QObject | None = None) -> None:
        """Call `callback(*args)` on the GUI thread; safe to call from any thread."""
        self._deliver.emit(_Delivery(callback, args, owner))

    @Slot(object)
    def _on_deliver(self, delivery: _Delivery) -> None:
        if delivery.owner is not None and not shiboken6.isValid(delivery.owner):
            return
        delivery.callback(*delivery.args)

    # ---- the ops' callbacks, by number

    def _start(self, op: Op[T]) -> Future[T]:
        number = next(self._numbers)
        self._waiting[number] = _Callbacks(op._success, op._failure, op._progress, op._owner)
        kwargs = dict(op.kwargs)
        me = weakref.ref(self)
        if op._progress is not None:
            kwargs["progress"] = functools.partial(_report_progress, me, number)
        future = self.submit(op.fn, *op.args, **kwargs)
        future.add_done_callback(functools.partial(_report_finished, me, number))
        return future

    def _on_report(self, number: int, what: str, payload: Any) -> None:
        if what == "progress":
            callbacks = self._waiting.get(number)
        else:
            callbacks = self._waiting.pop(number, None)
        if callbacks is None or what == "dropped":
            return
        if callbacks.owner is not None and not shiboken6.isValid(callbacks.owner):
            self._waiting.pop(number, None)
            return
        if what == "progress":
            if callbacks.progress is not None:
                callbacks.progress(*payload)
        elif what == "success":
            if callbacks.success is not None:
                callbacks.success(payload)
        elif callbacks.failure is not None:
            callbacks.failure(payload)
        else:
            log.error("Background task failed: %s", describe_error(payload))


@dataclass
class Op(Generic[T]):
    """A blocking call waiting to be run; configure callbacks, then `run()`."""

    runner: TaskRunner
    fn: Callable[..., T]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    _success: Callable[[T], None] | None = None
    _failure: Callable[[BaseException], None] | None = None
    _owner: QObject | None = None
    _progress: Callable[[int, int], None] | None = field(default=None)

    def success(self, callback: Callable[[T], None]) -> Op[T]:
        self._success = callback
        return self

    def failure(self, callback: Callable[[BaseException], None]) -> Op[T]:
        self._failure = callback
        return self

    def owned_by(self, owner: QObject) -> Op[T]:
        """Drop the callbacks if `owner` has been deleted when the result arrives."""
        self._owner = owner
        return self

    def with_progress(self, callback: Callable[[int, int], None]) -> Op[T]:
        """Pass a thread-safe `progress(done, total)` keyword to `fn`; `callback` runs on the GUI."""
        self._progress = callback
        return self

    def run(self) -> Future[T]:
        """Start the call (from the GUI thread). The callbacks stay with the runner."""
        future = self.runner._start(self)
        self._success = self._failure = self._owner = self._progress = None
        return future


def describe_error(error: BaseException) -> str:
    """The error's type and where it happened, without its message.

    Exception messages can quote the data that caused them (a validation error repeats the
    patient's name), so only the type and the code locations go to the log.
    """
    frames = traceback.extract_tb(error.__traceback__)
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames[-4:]))
    return f"{type(error).__name__} at {where}" if where else type(error).__name__
