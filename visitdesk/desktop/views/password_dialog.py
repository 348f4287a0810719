"""File ▸ Change my password: the signed-in staff member changes their own password.

It goes to the portal at once and is never queued: a password change is not idempotent, and one
that happened later, by itself, would lock the person out of a session they thought still used
the old password. Offline, the dialog says so and nothing changes.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.ops.staff import StaffOps
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.sync.errors import PortalError, PortalOffline, Rejected

log = logging.getLogger(__name__)

OFFLINE = (
    "Changing your password needs the portal, which cannot be reached right now. Nothing was "
    "changed: your current password still works. Try again when the connection is back."
)


def check_passwords(current: str, new: str, repeated: str) -> str | None:
    """What is wrong with what was typed, before asking the portal (which judges strength)."""
    if not current:
        return "Type your current password."
    if not new:
        return "Choose a new password and type it twice."
    if new != repeated:
        return "The two new passwords are not the same; type them again."
    if new == current:
        return "The new password is the same as the current one; choose a different one."
    return None


class ChangePasswordDialog(QDialog):
    """Current password, new password twice; errors in words; closes once the portal agreed."""

    def __init__(self, staff: StaffOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change my password")
        self.setModal(True)
        self.setMinimumWidth(440)
        self._staff = staff
        self.current = self._password_field()
        self.new = self._password_field()
        self.repeat = self._password_field()
        form = QFormLayout()
        form.addRow(plain_label("Current password"), self.current)
        form.addRow(plain_label("New password"), self.new)
        form.addRow(plain_label("New password again"), self.repeat)
        note = plain_label(
            "At least 10 characters, not a common password and not your username. Your other "
            "sessions (other workstations) end; this one stays signed in."
        )
        note.setWordWrap(True)
        self.error = plain_label("", "formError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Change password")
        # Wide enough for its longest label, so "Changing…" and back never squeezes it.
        self.ok_button.setMinimumWidth(self.ok_button.sizeHint().width())
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.current.setFocus()

    @staticmethod
    def _password_field() -> QLineEdit:
        field = QLineEdit()
        field.setEchoMode(QLineEdit.EchoMode.Password)
        field.setMaxLength(256)
        return field

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def submit(self) -> None:
        current, new = self.current.text(), self.new.text()
        problem = check_passwords(current, new, self.repeat.text())
        if problem is not None:
            self.show_error(problem)
            return
        self.error.hide()
        self._set_busy(True)
        (
            self._staff.change_own_password(current, new)
            .owned_by(self)
            .success(lambda _none: self._changed())
            .failure(self._failed)
            .run()
        )

    def _changed(self) -> None:
        for field in (self.current, self.new, self.repeat):
            field.clear()
        self._set_busy(False)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.new.clear()
        self.repeat.clear()
        if isinstance(error, Rejected) and "current password" in error.message:
            self.current.clear()
            self.current.setFocus()
        else:
            self.new.setFocus()
        if isinstance(error, PortalOffline):
            self.show_error(OFFLINE)
        elif isinstance(error, Rejected):
            self.show_error(error.message)
        elif isinstance(error, PortalError):
            self.show_error(error.user_message)
        else:
            log.error("Changing the password failed: %s", type(error).__name__)
            self.show_error("Changing the password failed on this workstation. Try again.")

    def _set_busy(self, busy: bool) -> None:
        for field in (self.current, self.new, self.repeat):
            field.setEnabled(not busy)
        self.ok_button.setEnabled(not busy)
        self.ok_button.setText("Changing\u2026" if busy else "Change password")
