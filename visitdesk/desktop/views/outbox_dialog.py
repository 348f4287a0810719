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
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.views.checkins_table import format_time
from visitdesk.sync.engine import HELD_PREFIX


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
        # The portal's reason is the point of the dialog: it wraps instead of being cut off.
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.hint = QLabel()
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        self.confirm_box: QMessageBox | None = None
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
        layout.addWidget(self.hint)
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
            reason = QTableWidgetItem(item.last_error or "")
            reason.setToolTip(item.last_error or "")
            self.table.setItem(number, 2, reason)
        self.table.resizeRowsToContents()
        if self._items:
            self.summary.setText(
                "The portal refused these changes, so they were not applied. Send a change again "
                "once the problem is fixed, or discard it."
            )
        else:
            self.summary.setText("Every change made on this workstation has been accepted.")
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        item = self._selected()
        # Sending again is offered only where it can succeed: a refusal on the merits (not
        # allowed, no such record, invalid) would come back identically.
        self.retry_button.setEnabled(item is not None and item.retryable)
        self.discard_button.setEnabled(item is not None)
        held = item is not None and (item.last_error or "").startswith(HELD_PREFIX)
        self.retry_button.setText("Send anyway" if held else "Send again")
        if item is None:
            self.hint.setText(
                "Select a change to send it again or discard it." if self._items else ""
            )
        elif held:
            self.hint.setText(
                "This change waited longer than the portal remembers what it received, so it "
                "was not sent by itself. If the portal does not show it yet, Send anyway; if it "
                "does, Discard it."
            )
        elif item.retryable:
            self.hint.setText(
                "This change may go through now (for example once the record is no longer being "
                "changed elsewhere): Send again keeps it in order with your other changes."
            )
        else:
            self.hint.setText(
                "The portal will refuse this change again as it is. Discard it, and make the "
                "change again in VisitDesk if it is still needed."
            )

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
        if item is None or self.confirm_box is not None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Discard this change?",
            f"\u201c{item.description}\u201d was never applied by the portal. Discarding it "
            "removes it from this workstation for good.",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        discard = box.addButton("Discard change", QMessageBox.ButtonRole.DestructiveRole)
        discard.setObjectName("destructive")
        keep = box.addButton("Keep it", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered() -> None:
            self.confirm_box = None
            if box.clickedButton() is discard:
                self._ops.outbox.discard(item.id).owned_by(self).success(self._touched).run()

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()

    def _touched(self, _result: object) -> None:
        self.outbox_touched.emit()
        self.reload()
