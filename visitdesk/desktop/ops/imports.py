"""Importing the practice management system's CSV exports: patients, appointments, ledgers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from visitdesk.desktop.models.csv_import import (
    ImportReport,
    import_appointments_csv,
    import_patients_csv,
)
from visitdesk.desktop.models.ledger_import import import_ledger_csv
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.base import StoreOps
from visitdesk.desktop.tasks import Op

#: What can be imported, in the words the File menu and the import dialog use.
ImportKind = Literal["patients", "appointments", "ledger lines"]


class Importer(Protocol):
    def __call__(
        self,
        store: LocalStore,
        path: Path,
        *,
        progress: Callable[[int, int], None] | None = ...,
        cancel: threading.Event | None = ...,
    ) -> ImportReport: ...


IMPORTERS: dict[ImportKind, Importer] = {
    "patients": import_patients_csv,
    "appointments": import_appointments_csv,
    "ledger lines": import_ledger_csv,
}


class ImportOps(StoreOps):
    def start(self, kind: ImportKind, path: Path, cancel: threading.Event) -> Op[ImportReport]:
        """Check and import one file (all or nothing), then send what it queued for the portal.

        The op reports progress (attach `with_progress`); setting `cancel` stops it with nothing
        saved."""
        importer = IMPORTERS[kind]

        def run(progress: Callable[[int, int], None] | None = None) -> ImportReport:
            report = importer(self.store, path, progress=progress, cancel=cancel)
            self.sync.kick()
            return report

        return self.runner.op(run)
