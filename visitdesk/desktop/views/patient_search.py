"""Find a patient as you type: name ("last, first"), date of birth, MRN or phone.

The search runs in SQL off the GUI thread, a moment after the last keystroke; answers to older
keystrokes that arrive late are dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.models.patient_search import (
    MIN_KEY_LENGTH,
    PatientHit,
    PatientQuery,
    SearchResult,
)
from visitdesk.desktop.ops.codes import PatientOps
from visitdesk.desktop.views.patient_search_table import PatientResultsModel
from visitdesk.desktop.views.tables import rows_table

log = logging.getLogger(__name__)

#: Quiet time after a keystroke before searching.
DEBOUNCE_MS = 200

HINT = "Type a name (last, first), a date of birth (MM/DD/YYYY), an MRN or a phone number."


class PatientSearchBox(QWidget):
    """A search field over a short list of matching patients; emits the chosen patient."""

    #: The selected patient (PatientHit), or None when the selection is cleared.
    patient_chosen = Signal(object)

    def __init__(self, patients: PatientOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._patients = patients
        self._asked = 0  # number of the newest search started
        self.model = PatientResultsModel(self)

        self.field = QLineEdit()
        self.field.setPlaceholderText("Last, first \u00b7 MM/DD/YYYY \u00b7 MRN \u00b7 phone")
        self.field.setClearButtonEnabled(True)
        self.field.setAccessibleName("Find patient")
        self.field.textChanged.connect(self._typed)
        self.field.installEventFilter(self)

        self.table = rows_table(
            self.model,
            stretch=0,
            keep=(0,),
            empty="No patient found yet. Type part of a last name, a date of birth, an MRN or a phone.",
        )
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.status = QLabel(HINT)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setObjectName("screenSubtitle")
        self.status.setWordWrap(True)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.search_now)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

    # ---- searching

    def _typed(self, _text: str) -> None:
        self._timer.start()

    def search_now(self) -> None:
        self._timer.stop()
        text = self.field.text().strip()
        self._asked += 1
        if not text:
            self._show(SearchResult(query=PatientQuery(), hits=[], more=False), self._asked)
            return
        number = self._asked
        (
            self._patients.search(text)
            .owned_by(self)
            .success(lambda result: self._show(result, number))
            .failure(self._failed)
            .run()
        )

    def _show(self, result: SearchResult, number: int) -> None:
        if number != self._asked:
            return  # an older keystroke's answer
        chosen = self.selected()
        self.model.set_hits(result.hits)
        text = self.field.text().strip()
        if not text:
            self.status.setText(HINT)
        elif not result.hits and len(text) < MIN_KEY_LENGTH:
            self.status.setText("Type a little more. " + HINT)
        elif not result.hits:
            self.status.setText("No patient matches. " + HINT)
        elif result.more:
            self.status.setText(
                f"Showing the first {len(result.hits)} matches; type more to narrow them down."
            )
        else:
            count = len(result.hits)
            self.status.setText(f"{count} patient{'s' if count != 1 else ''} found.")
        if chosen is not None and (row := self.model.row_of(chosen.id)) >= 0:
            self.select_row(row)
        elif len(result.hits) == 1:
            self.select_row(0)
        else:
            self.patient_chosen.emit(None)

    def _failed(self, error: BaseException) -> None:
        log.error("Patient search failed: %s", type(error).__name__)
        self.status.setText("The search could not be run on the local database. Try again.")

    # ---- selection

    def selected(self) -> PatientHit | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.hit_at(rows[0].row()) if rows else None

    def select_row(self, row: int) -> None:
        self.table.selectionModel().select(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(self.model.index(row, 0))

    def _selection_changed(self, *_: Any) -> None:
        self.patient_chosen.emit(self.selected())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Down arrow from the field goes to the results, so the keyboard never has to leave.
        if (
            watched is self.field
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Down
            and self.model.rowCount()
        ):
            self.table.setFocus()
            if self.selected() is None:
                self.select_row(0)
            return True
        return super().eventFilter(watched, event)
