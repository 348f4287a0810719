"""The Staff screen (office managers): who works here and in which role; add staff, change a
role, reset a colleague's password, disable or enable.

A new member's password, and a reset one, is a one-time password: shown once here, to read out,
write down or copy into the practice's own channel. "Done" forgets it (and takes it off the
clipboard if it is still there). The person chooses their own password at the next sign-in.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire import Role
from visitdesk.api.wire_accounts import StaffPasswordReset
from visitdesk.api.wire_staff import StaffCreate, StaffCreated, StaffMember
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.portal_lists import empty_stack, error_text
from visitdesk.desktop.views.rows import RowsModel
from visitdesk.desktop.views.tables import rows_table

log = logging.getLogger(__name__)

ROLE_CHOICES: tuple[tuple[Role, str], ...] = (
    (Role.FRONT_DESK, "Front desk"),
    (Role.BILLING, "Billing"),
    (Role.MANAGER, "Office manager"),
)
ROLE_WORDS = dict(ROLE_CHOICES)


class StaffModel(RowsModel[StaffMember]):
    columns = ("Name", "Username", "Role", "Status", "Last sign-in")

    def __init__(self, zone: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def cell(self, row: StaffMember, column: int, role: int) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return row.name
        if column == 1:
            return row.username
        if column == 2:
            return ROLE_WORDS.get(row.role, row.role)
        if column == 3:
            return "Active" if row.active else "Disabled"
        if row.last_sign_in_at is None:
            return "Never"
        return f"{row.last_sign_in_at.astimezone(self._zone):%m/%d/%Y %I:%M %p}"


def _role_box() -> QComboBox:
    box = QComboBox()
    for role, words in ROLE_CHOICES:
        box.addItem(words, role.value)
    return box


class AddStaffDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add staff")
        self.setModal(True)
        self.name = QLineEdit()
        self.name.setMaxLength(200)
        self.username = QLineEdit()
        self.username.setMaxLength(64)
        self.username.setPlaceholderText("letters, digits, . _ -")
        self.role = _role_box()
        form = QFormLayout()
        form.addRow("Full name", self.name)
        form.addRow("Username", self.username)
        form.addRow("Role", self.role)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Add")
        self.ok_button.setEnabled(False)
        for field in (self.name, self.username):
            field.textChanged.connect(self._check)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(plain_label("They get a one-time password, shown once."))
        layout.addWidget(self.buttons)

    def _check(self, *_: object) -> None:
        username = self.username.text().strip()
        ok = (
            bool(self.name.text().strip())
            and len(username) >= 2
            and all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in username)
        )
        self.ok_button.setEnabled(ok)

    def request(self) -> StaffCreate:
        return StaffCreate(
            username=self.username.text().strip(),
            name=self.name.text().strip(),
            role=Role(self.role.currentData()),
        )


class StaffView(QWidget):
    message = Signal(str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self._staff = ops.staff
        self._me = ops.session.staff.id
        self.dialog: QDialog | None = None
        self.confirm_box: QMessageBox | None = None

        title = plain_label("Staff", "screenTitle")
        self.model = StaffModel(ops.session.zone, self)
        self.table = rows_table(self.model, stretch=0)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.empty = plain_label("Loading\u2026")
        self.stack = empty_stack(self.table, self.empty)

        self.add_button = QPushButton("Add staff\u2026")
        self.role_box = _role_box()
        self.role_button = QPushButton("Set role")
        self.reset_button = QPushButton("Reset password\u2026")
        self.reset_button.setToolTip(
            "Give this colleague a one-time password; they choose their own at the next sign-in"
        )
        self.active_button = QPushButton("Disable")
        self.add_button.clicked.connect(self.ask_add)
        self.role_button.clicked.connect(self.set_role)
        self.reset_button.clicked.connect(self.confirm_reset)
        self.active_button.clicked.connect(self.toggle_active)
        actions = QHBoxLayout()
        actions.addWidget(self.add_button)
        actions.addStretch(1)
        actions.addWidget(self.role_box)
        actions.addWidget(self.role_button)
        actions.addWidget(self.reset_button)
        actions.addWidget(self.active_button)

        self.secret_panel = QFrame()
        self.secret_panel.setObjectName("codePanel")
        self.secret_text = plain_label()
        self.secret_text.setWordWrap(True)
        # Styled like a fresh security code: large, monospaced, unmistakable.
        self.secret_value = plain_label("", "codeValue")
        self.secret_value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("secondary")
        self.copy_button.setToolTip("Copy the one-time password; Done takes it off the clipboard")
        self.copy_button.clicked.connect(self.copy_secret)
        self.done_button = QPushButton("Done")
        self.done_button.clicked.connect(self.forget_secret)
        secret_layout = QHBoxLayout(self.secret_panel)
        column = QVBoxLayout()
        column.addWidget(self.secret_text)
        column.addWidget(self.secret_value)
        secret_layout.addLayout(column, 1)
        secret_layout.addWidget(self.copy_button)
        secret_layout.addWidget(self.done_button)
        self.secret_panel.hide()
        self.status = plain_label("")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.secret_panel)
        layout.addWidget(self.stack, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        self._update_buttons()
        self.reload()

    # ---- the list

    def reload(self) -> None:
        self._staff.load().owned_by(self).success(self._show).failure(self._failed).run()

    def _show(self, rows: list[StaffMember]) -> None:
        selected = self.selected()
        self.model.set_rows(rows)
        if selected is not None:
            number = self.model.row_of(selected.id)
            if number >= 0:
                self.table.selectRow(number)
        if rows:
            self.stack.setCurrentWidget(self.table)
        else:
            self.empty.setText("No staff accounts yet.")
            self.stack.setCurrentWidget(self.empty)
        self._update_buttons()

    def _failed(self, error: BaseException) -> None:
        log.error("Loading staff failed: %s", type(error).__name__)
        self.empty.setText(error_text(error, "listing staff"))
        self.stack.setCurrentWidget(self.empty)

    def selected(self) -> StaffMember | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select(self, staff_id: str) -> None:
        number = self.model.row_of(staff_id)
        if number >= 0:
            self.table.selectRow(number)

    def _update_buttons(self, *_: Any) -> None:
        row = self.selected()
        other = row is not None and row.id != self._me
        self.role_button.setEnabled(row is not None)
        self.reset_button.setEnabled(other and row is not None and row.active)
        self.active_button.setEnabled(other)
        self.active_button.setText("Enable" if row is not None and not row.active else "Disable")
        if row is not None:
            self.role_box.setCurrentIndex(self.role_box.findData(row.role.value))

    # ---- changes

    def _replaced(self, member: StaffMember, words: str) -> None:
        self.status.setText(words)
        self.reload()

    def _refused(self, error: BaseException, doing: str) -> None:
        self.status.setText(error_text(error, doing))

    def ask_add(self) -> AddStaffDialog:
        dialog = AddStaffDialog(self)
        dialog.accepted.connect(lambda: self._add(dialog.request()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _add(self, request: StaffCreate) -> None:
        (
            self._staff.add(request)
            .owned_by(self)
            .success(self._added)
            .failure(lambda error: self._refused(error, "adding staff"))
            .run()
        )

    def _added(self, created: StaffCreated) -> None:
        self.show_secret(
            f"{created.staff.name} ({created.staff.username}) signs in with this password. It is "
            "shown only now.",
            created.one_time_password,
        )
        self._replaced(created.staff, f"{created.staff.name} was added.")

    def set_role(self) -> None:
        row = self.selected()
        if row is None:
            return
        role = Role(self.role_box.currentData())
        (
            self._staff.set_role(row.id, role, str(uuid.uuid4()))
            .owned_by(self)
            .success(lambda m: self._replaced(m, f"{m.name} is now {ROLE_WORDS[m.role].lower()}."))
            .failure(lambda error: self._refused(error, "changing the role"))
            .run()
        )

    def toggle_active(self) -> None:
        row = self.selected()
        if row is None or row.id == self._me:
            return
        (
            self._staff.set_active(row.id, not row.active, str(uuid.uuid4()))
            .owned_by(self)
            .success(
                lambda m: self._replaced(
                    m,
                    f"{m.name} can sign in again."
                    if m.active
                    else f"{m.name} is disabled; their sessions have ended.",
                )
            )
            .failure(lambda error: self._refused(error, "changing the account"))
            .run()
        )

    def confirm_reset(self) -> QMessageBox | None:
        row = self.selected()
        if row is None or row.id == self._me or not row.active:
            return None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Reset password",
            f"Reset the password of {row.name} ({row.username})?\n\n"
            "Their current password stops working and they are signed out everywhere now. "
            "You get a one-time password to give them; they choose their own password when "
            "they next sign in.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("Reset password")
        box.accepted.connect(lambda: self.reset_password(row))
        box.finished.connect(lambda _r: setattr(self, "confirm_box", None))
        self.confirm_box = box
        box.open()
        return box

    def reset_password(self, member: StaffMember) -> None:
        (
            self._staff.reset_password(member.id)
            .owned_by(self)
            .success(lambda reset: self._reset_done(member, reset))
            .failure(lambda error: self._refused(error, "resetting the password"))
            .run()
        )

    def _reset_done(self, member: StaffMember, reset: StaffPasswordReset) -> None:
        self.show_secret(
            f"{member.name} ({member.username}) signs in once with this password and then "
            "chooses their own. It is shown only now.",
            reset.one_time_password,
        )
        self.status.setText(f"{member.name}'s password was reset; their sessions have ended.")

    def show_secret(self, text: str, secret: str) -> None:
        self.secret_text.setText(text)
        self.secret_value.setText(secret)
        self.secret_panel.show()

    def copy_secret(self) -> None:
        secret = self.secret_value.text()
        if secret:
            QGuiApplication.clipboard().setText(secret)

    def forget_secret(self) -> None:
        clipboard = QGuiApplication.clipboard()
        secret = self.secret_value.text()
        if secret and clipboard.text() == secret:
            clipboard.clear()
        self.secret_value.clear()
        self.secret_text.clear()
        self.secret_panel.hide()
