"""Item model of the issued security codes (newest first; filtered and limited in SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.desktop.models.codes import SecurityCodeRow

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Status", "Code", "Patient", "Purpose", "Issued", "Issued by", "Expires")
STATUS_COLUMN = 0

STATUS_LABELS = {
    "active": "Active",
    "used": "Used",
    "expired": "Expired",
    "revoked": "Revoked",
    "locked": "Locked",
}
_STATUS_COLOURS = {
    "active": QColor("#dcfce7"),
    "used": QColor("#dbeafe"),
    "expired": QColor("#e5e7eb"),
    "revoked": QColor("#e5e7eb"),
    "locked": QColor("#fde2e2"),
}
RELATIONSHIP_LABELS = {
    "self": "Self",
    "child": "Child",
    "spouse": "Spouse",
    "parent": "Parent",
    "dependent": "Dependent",
    "other": "Other family",
}


def purpose_label(purpose: str, relationship: str) -> str:
    if purpose == "register":
        return "Register"
    return f"Link ({RELATIONSHIP_LABELS.get(relationship, relationship).lower()})"


def format_moment(moment: datetime | None, zone: tzinfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local:%m/%d/%Y} {local:%I:%M %p}".replace(" 0", " ")


class SecurityCodesModel(QAbstractTableModel):
    """The codes the list shows; rows are replaced wholesale from the store."""

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SecurityCodeRow] = []
        self._zone = zone

    def set_rows(self, rows: Sequence[SecurityCodeRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> SecurityCodeRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, code_id: str) -> int:
        for number, row in enumerate(self._rows):
            if row.id == code_id:
                return number
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS_COLUMN:
            return self._status_detail(row)
        if role == Qt.ItemDataRole.BackgroundRole and column == STATUS_COLUMN:
            return QBrush(_STATUS_COLOURS.get(row.status, QColor("#ffffff")))
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def _display(self, row: SecurityCodeRow, column: int) -> str:
        if column == STATUS_COLUMN:
            return STATUS_LABELS.get(row.status, row.status)
        if column == 1:
            return row.hint
        if column == 2:
            return row.patient_name
        if column == 3:
            return purpose_label(row.purpose, row.relationship)
        if column == 4:
            return format_moment(row.issued_at, self._zone)
        if column == 5:
            return row.issued_by
        return format_moment(row.expires_at, self._zone)

    def _status_detail(self, row: SecurityCodeRow) -> str | None:
        if row.status == "used" and row.used_at is not None:
            return f"Used {format_moment(row.used_at, self._zone)}"
        if row.status == "revoked" and row.revoked_at is not None:
            return f"Revoked {format_moment(row.revoked_at, self._zone)}"
        if row.status == "locked":
            return f"Locked after {row.failed_attempts} wrong attempts"
        if row.failed_attempts:
            return f"{row.failed_attempts} wrong attempt{'s' if row.failed_attempts != 1 else ''}"
        return None
