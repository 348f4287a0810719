"""Sign-in: portal address, practice, username, password and, for a private portal, its CA file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.settings import Settings
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.sync.errors import PasswordChangeRequired, PortalError, Rejected

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignInRequest:
    portal_url: str
    practice: str
    username: str
    password: str
    ca_file: Path | None
    #: Set once the portal said a manager reset the password: the one to change it to.
    new_password: str | None = None
    repeated_password: str | None = None


def check_request(request: SignInRequest) -> str | None:
    """A plain-words problem with what was typed, or None when it is worth sending."""
    if not request.portal_url:
        return "Enter the portal address your office gave you."
    if not request.portal_url.lower().startswith("https://"):
        return "The portal address must start with https:// (VisitDesk only talks to a portal over TLS)."
    if not request.practice:
        return "Enter your practice code."
    if not request.username or not request.password:
        return "Enter your username and password."
    if request.ca_file is not None and not request.ca_file.is_file():
        return "The CA certificate file cannot be found. Choose it again or leave the field empty."
    if request.new_password is not None:
        if not request.new_password:
            return "Choose a new password and type it twice."
        if request.new_password != request.repeated_password:
            return "The two new passwords are not the same; type them again."
    return None


class SignInDialog(QDialog):
    """Collects credentials and runs the sign-in off the GUI thread.

    `sign_in` is called on a worker thread with the request and returns whatever the caller needs
    (the signed-in session); `signed_in` carries it back. Errors are shown in the dialog.
    """

    signed_in = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        sign_in: Callable[[SignInRequest], Any],
        settings: Settings,
        notice: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to VisitDesk")
        self.setMinimumWidth(480)
        self._runner = runner
        self._sign_in = sign_in
        self.portal = QLineEdit(settings.portal_url)
        self.portal.setPlaceholderText("https://portal.your-clinic.org")
        self.practice = QLineEdit(settings.practice_code)
        self.username = QLineEdit(settings.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file = QLineEdit(settings.ca_file)
        self.ca_file.setPlaceholderText("Only if your portal has its own CA")
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(browse)

        # Shown only after the portal says a manager reset the password.
        self.new_password = QLineEdit()
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat_password = QLineEdit()
        self.repeat_password.setEchoMode(QLineEdit.EchoMode.Password)

        form = QFormLayout()
        form.addRow("Portal address", self.portal)
        form.addRow("Practice code", self.practice)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("New password", self.new_password)
        form.addRow("New password again", self.repeat_password)
        form.addRow("CA certificate", ca_row)
        self._form = form
        self._show_new_password(False)

        heading = QLabel("Sign in with the account your office manager gave you.")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        self.error = QLabel(notice)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setObjectName("formError")
        self.error.setVisible(bool(notice))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        (self.password if settings.username else self.portal).setFocus()

    @property
    def changing_password(self) -> bool:
        return self._form.isRowVisible(self.new_password)

    def _show_new_password(self, shown: bool) -> None:
        self._form.setRowVisible(self.new_password, shown)
        self._form.setRowVisible(self.repeat_password, shown)

    def request(self) -> SignInRequest:
        ca = self.ca_file.text().strip()
        changing = self.changing_password
        return SignInRequest(
            portal_url=self.portal.text().strip().rstrip("/"),
            practice=self.practice.text().strip(),
            username=self.username.text().strip(),
            password=self.password.text(),
            ca_file=Path(ca).expanduser() if ca else None,
            new_password=self.new_password.text() if changing else None,
            repeated_password=self.repeat_password.text() if changing else None,
        )

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(True)

    def submit(self) -> None:
        request = self.request()
        problem = check_request(request)
        if problem:
            self.show_error(problem)
            return
        self._set_busy(True)
        self.error.setVisible(False)
        (
            self._runner.op(self._sign_in, request)
            .owned_by(self)
            .success(self._done)
            .failure(self._failed)
            .run()
        )

    def _done(self, result: Any) -> None:
        self.password.clear()
        self.new_password.clear()
        self.repeat_password.clear()
        self._set_busy(False)
        self.signed_in.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.new_password.clear()
        self.repeat_password.clear()
        if isinstance(error, PasswordChangeRequired):
            # The one-time password was right: keep it, and ask for the new one.
            self._show_new_password(True)
            self.new_password.setFocus()
            self.show_error(error.user_message)
            return
        if self.changing_password and isinstance(error, Rejected):
            self.new_password.setFocus()  # e.g. too short: the one-time password still stands
        else:
            self.password.clear()
            self.password.setFocus()
        if isinstance(error, Rejected):
            self.show_error(error.message)
        elif isinstance(error, PortalError):
            self.show_error(error.user_message)
        elif isinstance(error, ValueError):
            self.show_error(str(error))
        else:
            log.error("Sign-in failed unexpectedly: %s", type(error).__name__)
            self.show_error("Signing in failed unexpectedly. Please try again.")

    def _set_busy(self, busy: bool) -> None:
        for widget in (
            self.portal,
            self.practice,
            self.username,
            self.password,
            self.new_password,
            self.repeat_password,
            self.ca_file,
        ):
            widget.setEnabled(not busy)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not busy)
        ok.setText("Signing in\u2026" if busy else "Sign in")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA certificate", str(Path.home()), "Certificates (*.pem *.crt);;All files (*)"
        )
        if path:
            self.ca_file.setText(path)
