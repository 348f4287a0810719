"""What every domain's ops are built from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

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
    return runner.op(path.write_bytes, data)
