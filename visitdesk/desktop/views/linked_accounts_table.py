"""Item models of the Linked accounts screen: the links, fetched from the portal a page at a
time as the table scrolls, and the review list."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.api.wire_links import LinkRow, ReviewItem
from visitdesk.desktop.ops.links import link_cells, review_cells
from visitdesk.desktop.views.rows import PagedRowsModel, RowsModel

#: The cells of `link_cells` the table shows (the login is in the account's tooltip).
_SHOWN = (0, 2, 3, 4, 5, 6, 7, 8, 9, 10)
LINK_COLUMNS = (
    "Account",
    "Last sign-in",
    "Patient",
    "MRN",
    "Born",
    "Patient is",
    "Linked by",
    "Allowed by",
    "Linked",
    "Status",
)
STATUS_COLUMN = 9
_REVOKED = QColor("#e5e7eb")
_LOCKED = QColor("#fde2e2")


class LinksModel(PagedRowsModel[LinkRow]):
    """The links, a page of accounts at a time (`next_page` is the portal's cursor)."""

    columns = LINK_COLUMNS

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def key_of(self, row: LinkRow) -> Any:
        return row.link_id

    def replace(self, row: LinkRow) -> None:
        number = self.row_of(row.link_id)
        if number >= 0:
            self.rows[number] = row
            self.dataChanged.emit(self.index(number, 0), self.index(number, len(self.columns) - 1))

    def mark_account(self, account_id: str, locked: bool) -> None:
        for number, row in enumerate(self.rows):
            if row.account_id == account_id:
                self.rows[number] = row.model_copy(update={"account_locked": locked})
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, STATUS_COLUMN))

    def cell(self, row: LinkRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return link_cells(row, self._zone)[_SHOWN[column]]
        if role == Qt.ItemDataRole.ToolTipRole:
            # Names may be elided to keep the table within the window: the tooltip has them whole.
            text = link_cells(row, self._zone)[_SHOWN[column]]
            return f"{text}\n{row.account_login}" if column == 0 else text
        if role == Qt.ItemDataRole.BackgroundRole and column == STATUS_COLUMN:
            if row.revoked_at is not None:
                return QBrush(_REVOKED)
            if row.account_locked:
                return QBrush(_LOCKED)
        return None


class ReviewModel(RowsModel[ReviewItem]):
    columns = ("Rule", "Account", "Login", "Patient", "Why")

    def key_of(self, row: ReviewItem) -> Any:
        return (row.rule, row.account_id, row.link_id)

    def cell(self, row: ReviewItem, column: int, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return review_cells(row)[column]
        return None
