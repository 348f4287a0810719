"""Item models of the Linked accounts screen: the links, fetched from the portal a page at a
time as the table scrolls, and the review list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.desktop.ops.links import link_cells, review_cells
from visitdesk.desktop.views.rows import RowsModel
from visitdesk.sync.wire_links import LinkRow, ReviewItem

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


class LinksModel(RowsModel[LinkRow]):
    """Rows arrive a page at a time; `fetchMore` asks for the next page through `more`, which
    calls `append` when it arrives (off the GUI thread in between)."""

    columns = LINK_COLUMNS

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone
        self.next_cursor: str | None = None
        self.fetching = False
        self.more: Callable[[str], None] | None = None

    def key_of(self, row: LinkRow) -> Any:
        return row.link_id

    def set_page(self, rows: Sequence[LinkRow], next_cursor: str | None) -> None:
        self.fetching = False
        self.next_cursor = next_cursor
        self.set_rows(rows)

    def append(self, rows: Sequence[LinkRow], next_cursor: str | None) -> None:
        self.fetching = False
        self.next_cursor = next_cursor
        if rows:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self.rows.extend(rows)
            self.endInsertRows()

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

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.next_cursor is not None and not self.fetching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent) and self.more is not None and self.next_cursor is not None:
            self.fetching = True
            self.more(self.next_cursor)

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
