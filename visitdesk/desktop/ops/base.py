"""What every domain's ops are built from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Protocol, TypeVar

from visitdesk.api.files import write_whole
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.engine import SyncStatus

T = TypeVar("T")


class SyncKick(Protocol):
    """The part of the sync engine ops use: send what was just queued without waiting."""

    def kick(self) -> None: ...

    @property
    def status(self) -> SyncStatus: ...


class StoreOps:
    """Base of the per-domain ops: the task runner, the local store and the sync engine."""

    def __init__(self, runner: TaskRunner, store: LocalStore, sync: SyncKick) -> None:
        self.runner = runner
        self.store = store
        self.sync = sync

    @property
    def portal_reachable(self) -> bool:
        """The portal answered the last exchange: a queued change goes out within moments."""
        status = self.sync.status
        return status.online is True and not status.auth_needed

    def _queued(self, change: Callable[[], T]) -> Op[T]:
        """Run a change that queues portal calls, then have the engine send them at once."""

        def run() -> T:
            result = change()
            self.sync.kick()
            return result

        return self.runner.op(run)


def save_file(runner: TaskRunner, path: Path, data: bytes) -> Op[int]:
    """Write a file the user chose (a slip, a statement) off the GUI thread."""
    return runner.op(write_whole, path, data)


def printed_by(practice: str, what: str, staff: str, now: datetime, zone: tzinfo) -> str:
    """The subtitle of an exported report: whose, of what, printed by whom and when."""
    printed = now.astimezone(zone)
    return f"{practice} \u2014 {what} \u2014 printed by {staff} on {printed:%m/%d/%Y %I:%M %p}"


def first_rows(
    items: Iterable[T], cells: Callable[[T], tuple[str, ...]], limit: int
) -> tuple[list[tuple[str, ...]], bool]:
    """Up to `limit` rows of cells for a PDF, and whether more were left out."""
    rows: list[tuple[str, ...]] = []
    for item in items:
        if len(rows) == limit:
            return rows, True
        rows.append(cells(item))
    return rows, False
