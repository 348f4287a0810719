"""Item model of the issued security codes (newest first; filtered and limited in SQL)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.desktop.models.codes import SecurityCodeRow
from visitdesk.desktop.views.rows import RowsModel

COLUMNS = ("Status", "Code", "Patient", "Purpose", "Issued", "Issued by", "Expires")
STATUS_COLUMN = 0

STATUS_LABELS = {
    "active": "Active",
    "used": "Used",
    "expired": "Expired",
    "revoked": "Revoked",
    "locked": "Locked",
}
#: A used code revoked afterwards: the link it made is waiting for a manager's review.
REVOKED_AFTER_USE = "Used, revoked"
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


class SecurityCodesModel(RowsModel[SecurityCodeRow]):
    """The codes the list shows; rows are replaced wholesale from the store."""

    columns = COLUMNS

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def cell(self, row: SecurityCodeRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS_COLUMN:
            return self._status_detail(row)
        if role == Qt.ItemDataRole.BackgroundRole and column == STATUS_COLUMN:
            if row.revoked_after_use:
                return QBrush(QColor("#fef3c7"))
            return QBrush(_STATUS_COLOURS.get(row.status, QColor("#ffffff")))
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def _display(self, row: SecurityCodeRow, column: int) -> str:
        if column == STATUS_COLUMN:
            if row.revoked_after_use:
                return REVOKED_AFTER_USE
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
        if row.revoked_after_use:
            return (
                f"Used {format_moment(row.used_at, self._zone)}, revoked "
                f"{format_moment(row.revoked_at, self._zone)}: the link it made stays until it "
                "is revoked on Linked accounts, and is on the Needs review list."
            )
        if row.status == "used" and row.used_at is not None:
            return f"Used {format_moment(row.used_at, self._zone)}"
        if row.status == "revoked" and row.revoked_at is not None:
            return f"Revoked {format_moment(row.revoked_at, self._zone)}"
        if row.status == "locked":
            return f"Locked after {row.failed_attempts} wrong attempts"
        if row.failed_attempts:
            return f"{row.failed_attempts} wrong attempt{'s' if row.failed_attempts != 1 else ''}"
        return None
