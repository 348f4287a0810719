"""The manager's editor of the practice's quick-text templates (the only place they are written)."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire_messages import PLACEHOLDERS
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.ops.messages import QuickText
from visitdesk.desktop.views.checkins import plain_label

log = logging.getLogger(__name__)


class QuickTextEditor(QDialog):
    """Add, change and remove templates; nothing is written until Save."""

    saved = Signal(list)

    def __init__(self, ops: DeskOps, texts: list[QuickText], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self.setWindowTitle("Quick texts")
        self.resize(720, 420)
        self._texts = [QuickText(t.title, t.body, t.on_acknowledge) for t in texts]
        self.list = QListWidget()
        self.list.setMaximumWidth(220)
        self.title = QLineEdit()
        self.title.setMaxLength(80)
        self.title.setPlaceholderText("Title shown in the composer's list")
        self.body = QPlainTextEdit()
        self.body.setTabChangesFocus(True)
        names = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        hint = plain_label(
            f"Placeholders filled for the open thread: {names}. Saved texts are the practice's: "
            "every workstation gets them.",
            "hint",
        )
        hint.setWordWrap(True)
        self.acknowledge = QCheckBox("Send this in the arrival chat when the desk acknowledges")
        self.acknowledge.setToolTip(
            "One quick text at most: the check-in board sends it, filled in, on Acknowledge"
        )
        self.acknowledge.toggled.connect(self._acknowledge_toggled)
        self.error = plain_label("", "errorText")
        self.error.setWordWrap(True)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.save_button = QPushButton("Save")
        self.cancel_button = QPushButton("Cancel")
        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        self.list.currentRowChanged.connect(self._show)
        self.title.textEdited.connect(self._edited)
        self.body.textChanged.connect(self._edited)

        right = QVBoxLayout()
        right.addWidget(self.title)
        right.addWidget(self.body, 1)
        right.addWidget(hint)
        right.addWidget(self.acknowledge)
        right.addWidget(self.error)
        top = QHBoxLayout()
        top.addWidget(self.list)
        top.addLayout(right, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(buttons)
        self._current = -1
        for text in self._texts:
            self.list.addItem(text.title)
        self.list.setCurrentRow(0 if self._texts else -1)
        self._update_buttons()

    @property
    def texts(self) -> list[QuickText]:
        return list(self._texts)

    def _show(self, row: int) -> None:
        self._current = row
        text = self._texts[row] if 0 <= row < len(self._texts) else QuickText("", "")
        self.title.blockSignals(True)
        self.body.blockSignals(True)
        self.title.setText(text.title)
        self.body.setPlainText(text.body)
        self.title.blockSignals(False)
        self.body.blockSignals(False)
        self.acknowledge.blockSignals(True)
        self.acknowledge.setChecked(text.on_acknowledge)
        self.acknowledge.blockSignals(False)
        self._update_buttons()

    def _edited(self, *_: object) -> None:
        row = self._current
        if not 0 <= row < len(self._texts):
            return
        self._texts[row] = QuickText(
            self.title.text(), self.body.toPlainText(), self._texts[row].on_acknowledge
        )
        item = self.list.item(row)
        if item is not None:
            item.setText(self.title.text() or "(untitled)")

    def _acknowledge_toggled(self, checked: bool) -> None:
        row = self._current
        if not 0 <= row < len(self._texts):
            return
        # One at most: choosing this one unmarks the others.
        self._texts = [
            QuickText(t.title, t.body, checked and n == row) if checked or n == row else t
            for n, t in enumerate(self._texts)
        ]

    def add(self) -> None:
        self._texts.append(QuickText("New quick text", "Hi {patient_first_name}, "))
        self.list.addItem("New quick text")
        self.list.setCurrentRow(len(self._texts) - 1)
        self.title.setFocus()
        self.title.selectAll()

    def remove(self) -> None:
        row = self._current
        if not 0 <= row < len(self._texts):
            return
        del self._texts[row]
        self.list.takeItem(row)
        self._show(self.list.currentRow())

    def _update_buttons(self) -> None:
        has = 0 <= self._current < len(self._texts)
        self.remove_button.setEnabled(has)
        self.title.setEnabled(has)
        self.body.setEnabled(has)
        self.acknowledge.setEnabled(has)

    def save(self) -> None:
        texts = [t for t in self._texts if t.title.strip() and t.body.strip()]
        if len(texts) != len(self._texts):
            self.error.setText("Every quick text needs a title and a text.")
            return
        try:
            saving = self._ops.messages.save_quick_texts(texts)
        except ValueError as refused:  # what the portal would refuse, said before sending
            self.error.setText(str(refused))
            return
        self.error.setText("")
        self.save_button.setEnabled(False)
        saving.owned_by(self).success(lambda _item: self._saved(texts)).failure(self._failed).run()

    def _saved(self, texts: list[QuickText]) -> None:
        self.saved.emit(texts)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        log.error("Saving quick texts failed: %s", type(error).__name__)
        self.error.setText("The quick texts could not be saved on this workstation.")
