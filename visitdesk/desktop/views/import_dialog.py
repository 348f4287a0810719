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
        # Columns not imported; the README promises they are listed.
        self.ignored = QLabel()
        self.ignored.setTextFormat(Qt.TextFormat.PlainText)
        self.ignored.setWordWrap(True)
        self.ignored.hide()
        self.errors = QTableWidget(0, 2)
        self.errors.setHorizontalHeaderLabels(["Line", "Problem"])
        self.errors.horizontalHeaderItem(0).setToolTip(
            "The line in the file, as a spreadsheet numbers it: the header is line 1."
        )
        self.errors.verticalHeader().setVisible(False)
        # Rows grow to hold a long message wrapped within the Problem column.
        self.errors.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.errors.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.errors.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.errors.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.errors.setMinimumHeight(240)
        self.errors.setWordWrap(True)
        self.errors.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.errors.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self._cancel_or_close)
        self.buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.progress)
        layout.addWidget(self.ignored)
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
        name = self._path.name
        if report.cancelled:
            self.heading.setText(f"Import cancelled. Nothing from {name} was saved.")
        elif getattr(report, "file_rejected", False):
            [problem] = report.errors
            where = "the header, line 1" if problem.line == 1 else f"line {problem.line}"
            if not problem.line:
                where = "the file"
            self.heading.setText(
                f"{name} cannot be imported ({where}): {problem.reason} Nothing was saved."
            )
        elif report.errors:
            count = report.error_count
            problems = "1 problem was" if count == 1 else f"{count:,} problems were"
            self.heading.setText(
                f"{problems} found in {name}, so nothing from it was imported. "
                "Correct the file and import it again."
            )
            self._list(report.errors, "Problem")
        else:
            warned = getattr(report, "warning_count", 0)
            notes = (
                f" {warned:,} {'line needs' if warned == 1 else 'lines need'} a look (below)."
                if warned
                else ""
            )
            self.heading.setText(
                f"Imported {report.rows_read:,} {self._what} from {name}: "
                f"{report.created:,} new, {report.updated:,} changed, "
                f"{report.unchanged:,} already up to date. "
                f"Changes are sent to the portal in the background.{notes}"
            )
            if warned:
                self._list(report.warnings, "Worth a look")
        ignored = list(getattr(report, "ignored_columns", []) or [])
        if ignored and not getattr(report, "file_rejected", False):
            self.ignored.setText(
                "Columns not imported (VisitDesk does not use them): " + ", ".join(ignored)
            )
            self.ignored.show()
        self.finished_import.emit(report)

    def _list(self, rows: list[Any], what: str) -> None:
        listed = rows[:MAX_LISTED_ERRORS]
        self.errors.setHorizontalHeaderLabels(["Line", what])
        self.errors.setRowCount(len(listed))
        for number, error in enumerate(listed):
            line, reason = error.line, error.reason
            self.errors.setItem(number, 0, QTableWidgetItem("" if line is None else str(line)))
            self.errors.setItem(number, 1, QTableWidgetItem(str(reason)))
        self.errors.show()
        self.resize(max(self.width(), 640), max(self.height(), 400))

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
