"""Importing the practice's patients and appointments from CSV, with progress, cancel and a report."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.ops.imports import ImportKind, ImportOps

log = logging.getLogger(__name__)

#: Most row errors listed in the dialog; the summary says how many there were in all.
MAX_LISTED_ERRORS = 500


class ImportDialog(QDialog):
    """Runs one CSV import in the background and shows what happened, in plain words."""

    finished_import = Signal(object)  # the ImportReport, or None when the import crashed

    def __init__(
        self,
        imports: ImportOps,
        what: ImportKind,
        path: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {what}")
        self.setMinimumWidth(560)
        self._imports = imports
        self._what = what
        self._path = path
        self._cancel = threading.Event()
        self.report: Any = None

        self.heading = QLabel(f"Importing {what} from {path.name}\u2026")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.errors = QTableWidget(0, 2)
        self.errors.setHorizontalHeaderLabels(["Line", "Problem"])
        self.errors.verticalHeader().setVisible(False)
        self.errors.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.errors.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.errors.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.errors.setMinimumHeight(240)
        self.errors.setWordWrap(False)
        self.errors.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self._cancel_or_close)
        self.buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.progress)
        layout.addWidget(self.errors, 1)
        layout.addWidget(self.buttons)

    def start(self) -> None:
        (
            self._imports.start(self._what, self._path, self._cancel)
            .owned_by(self)
            .with_progress(self._on_progress)
            .success(self._on_done)
            .failure(self._on_failed)
            .run()
        )

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def _cancel_or_close(self) -> None:
        if self.report is None and not self._cancel.is_set():
            self._cancel.set()
            self.heading.setText("Cancelling\u2026 nothing from this file will be saved.")
            return
        self.reject()

    def _finish_buttons(self) -> None:
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Close)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).clicked.connect(self.accept)
        self.progress.hide()

    def _on_done(self, report: Any) -> None:
        self.report = report
        self._finish_buttons()
        if report.cancelled:
            self.heading.setText(f"Import cancelled. Nothing from {self._path.name} was saved.")
        elif report.errors:
            count = report.error_count
            rows = "row has a problem" if count == 1 else "rows have problems"
            self.heading.setText(
                f"{count} {rows}, so nothing from {self._path.name} was imported. "
                "Correct the file and import it again."
            )
            listed = report.errors[:MAX_LISTED_ERRORS]
            self.errors.setRowCount(len(listed))
            for number, error in enumerate(listed):
                line, reason = error.line, error.reason
                self.errors.setItem(number, 0, QTableWidgetItem("" if line is None else str(line)))
                self.errors.setItem(number, 1, QTableWidgetItem(str(reason)))
            self.errors.resizeRowsToContents()
            self.errors.show()
            self.resize(max(self.width(), 640), max(self.height(), 400))
        else:
            self.heading.setText(
                f"Imported {report.rows_read:,} {self._what} from {self._path.name}: "
                f"{report.created:,} new, {report.updated:,} changed, "
                f"{report.unchanged:,} already up to date. "
                "Changes are sent to the portal in the background."
            )
        self.finished_import.emit(report)

    def _on_failed(self, error: BaseException) -> None:
        log.error("Import failed: %s", type(error).__name__)
        self._finish_buttons()
        self.heading.setText(
            f"The import could not be completed ({_describe(error)}). Nothing was saved."
        )
        self.finished_import.emit(None)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError):
        return f"the file could not be read: {error.strerror or 'unknown error'}"
    return "an unexpected error; the details are in the log"
