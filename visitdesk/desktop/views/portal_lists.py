"""Pieces shared by the screens that read lists straight from the portal (linked accounts,
audit trail): where to save an export, what to say when the portal fails, an empty table that
says why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QStackedWidget, QTableView, QWidget

from visitdesk.sync.errors import PortalError, PortalOffline

#: Asks where to save an export: (parent, title, suggested file name, filter) -> path or None.
PathChooser = Callable[[QWidget, str, str, str], Path | None]


def choose_save_path(parent: QWidget, title: str, name: str, file_filter: str) -> Path | None:
    path, _filter = QFileDialog.getSaveFileName(parent, title, str(Path.home() / name), file_filter)
    return Path(path) if path else None


def error_text(error: BaseException, doing: str) -> str:
    if isinstance(error, PortalOffline):
        return f"The portal cannot be reached, so {doing} is not possible now. Try again shortly."
    if isinstance(error, PortalError):
        return error.user_message
    return f"Something went wrong {doing}."


def empty_stack(table: QTableView, empty: QLabel) -> QStackedWidget:
    empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
    empty.setWordWrap(True)
    empty.setObjectName("emptyState")
    stack = QStackedWidget()
    stack.addWidget(table)
    stack.addWidget(empty)
    return stack
