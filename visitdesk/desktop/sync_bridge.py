"""Carries the sync engine's news (reported on its worker threads) to the GUI thread as Qt signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from visitdesk.sync.store import OutboxItem


class SyncBridge(QObject):
    """A `SyncListener` whose callbacks become queued signals; views connect to the signals.

    Signals emitted from a worker thread reach slots of objects living on the GUI thread through
    Qt's queued connections, so receivers never run on the engine's threads.
    """

    changed = Signal(object)  # set[str] of kinds: "patient", "appointment", "checkin"
    status_changed = Signal(object)  # SyncStatus
    outbox_failed = Signal(object, str)  # OutboxItem, plain-words message
    outbox_changed = Signal()  # something was enqueued locally

    def on_changes(self, kinds: set[str]) -> None:
        self.changed.emit(set(kinds))

    def on_status(self, status: object) -> None:
        self.status_changed.emit(status)

    def on_outbox_failed(self, item: OutboxItem, message: str) -> None:
        self.outbox_failed.emit(item, message)
