"""The lock screen: covers every patient detail until the signed-in staff member types their password."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from visitdesk.desktop.views.checkins import plain_label


class LockScreen(QWidget):
    unlock_requested = Signal(str)
    sign_out_requested = Signal()

    def __init__(self, staff_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = plain_label("VisitDesk is locked", "screenTitle")
        explain = plain_label(
            f"Locked after a period without use, to keep patient information private.\n"
            f"{staff_name}, enter your password to carry on.",
        )
        explain.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("Password")
        self.password.setFixedWidth(320)
        self.password.returnPressed.connect(self._submit)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.clicked.connect(self._submit)
        self.sign_out_button = QPushButton("Sign out instead")
        self.sign_out_button.setObjectName("secondary")
        self.sign_out_button.clicked.connect(self.sign_out_requested.emit)
        self.error: QLabel = plain_label("", "formError")
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.hide()

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (
            title,
            explain,
            self.password,
            self.unlock_button,
            self.error,
            self.sign_out_button,
        ):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def reset(self) -> None:
        self.password.clear()
        self.error.hide()
        self.set_busy(False)
        self.password.setFocus()

    def set_busy(self, busy: bool) -> None:
        self.password.setEnabled(not busy)
        self.unlock_button.setEnabled(not busy)
        self.unlock_button.setText("Checking\u2026" if busy else "Unlock")

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.password.clear()
        self.password.setFocus()

    def _submit(self) -> None:
        if self.password.text():
            self.set_busy(True)
            self.unlock_requested.emit(self.password.text())
