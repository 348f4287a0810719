"""Reloading a screen from the store, one load at a time, folding bursts of change notices.

A large sync brings a page of changes every few milliseconds, and each may ask a screen to
reload. `Reload` runs one load at a time; requests that arrive while it runs become a single
further load after it, so the screen ends up showing the newest data without queueing a load per
notice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QObject

from visitdesk.desktop.tasks import Op

T = TypeVar("T")


class Reload(Generic[T]):
    """`request()` starts `load()` (an `Op` read afresh each time, so it sees the screen's current
    filters) unless one is running; `show(result)` or `failed(error)` runs on the GUI thread
    while `owner` lives."""

    def __init__(
        self,
        owner: QObject,
        load: Callable[[], Op[T]],
        show: Callable[[T], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        self._owner = owner
        self._load = load
        self._show = show
        self._failed = failed
        self.loading = False
        self._again = False

    def request(self) -> None:
        if self.loading:
            self._again = True
            return
        self.loading = True
        self._load().owned_by(self._owner).success(self._loaded).failure(self._load_failed).run()

    def _loaded(self, result: T) -> None:
        try:
            self._show(result)
        finally:
            self._finish()

    def _load_failed(self, error: BaseException) -> None:
        try:
            self._failed(error)
        finally:
            self._finish()

    def _finish(self) -> None:
        self.loading = False
        if self._again:
            self._again = False
            self.request()
