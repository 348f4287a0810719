"""Changes the portal refused: shown to the user with the portal's reason, to retry or discard."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.views.checkins_table import format_time


class OutboxDialog(QDialog):
    """Lists outbox items that failed for good, with Retry and Discard."""

    outbox_touched = Signal()

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Changes the portal did not accept")
        self.resize(760, 360)
        self._ops = ops
        self._items: list[Any] = []
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Change", "Made at", "Why the portal refused it"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.retry_button = QPushButton("Send again")
        self.discard_button = QPushButton("Discard change")
        self.discard_button.setObjectName("destructive")
        self.retry_button.clicked.connect(self._retry)
        self.discard_button.clicked.connect(self._discard)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.retry_button)
        row.addWidget(self.discard_button)
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self.reload()

    def reload(self, *_: object) -> None:
        self._ops.outbox.failed().owned_by(self).success(self._show).run()

    def _show(self, items: list[Any]) -> None:
        self._items = list(items)
        self.table.setRowCount(len(self._items))
        for number, item in enumerate(self._items):
            self.table.setItem(number, 0, QTableWidgetItem(item.description))
            self.table.setItem(
                number, 1, QTableWidgetItem(format_time(item.created_at, self._ops.session.zone))
            )
            self.table.setItem(number, 2, QTableWidgetItem(item.last_error or ""))
        if self._items:
            self.summary.setText(
                "The portal refused these changes, so they were not applied. Send a change again "
                "once the problem is fixed, or discard it."
            )
        else:
            self.summary.setText("Every change made on this workstation has been accepted.")
        self.retry_button.setEnabled(bool(self._items))
        self.discard_button.setEnabled(bool(self._items))

    def _selected(self) -> Any | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return self._items[0] if len(self._items) == 1 else None
        return self._items[rows[0].row()]

    def _retry(self) -> None:
        item = self._selected()
        if item is not None:
            self._ops.outbox.retry(item.id).owned_by(self).success(self._touched).run()

    def _discard(self) -> None:
        item = self._selected()
        if item is not None:
            self._ops.outbox.discard(item.id).owned_by(self).success(self._touched).run()

    def _touched(self, _result: object) -> None:
        self.outbox_touched.emit()
        self.reload()
