"""The table model every screen's list builds on: rows replaced wholesale, one class per row type.

Lists on the desk are small slices that the store already sorted and filtered in SQL, so a model
only holds the rows it shows and says how each cell looks; subclasses name their `columns` and
answer `cell(row, column, role)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
T = TypeVar("T")


class RowsModel(QAbstractTableModel, Generic[T]):
    columns: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[T] = []

    # ---- rows in and out

    def set_rows(self, rows: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    @property
    def rows(self) -> list[T]:
        return self._rows

    def row_at(self, row: int) -> T | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def key_of(self, row: T) -> Any:
        """What `row_of` looks rows up by; the row's `id` unless a subclass says otherwise."""
        return getattr(row, "id", None)

    def row_of(self, key: Any) -> int:
        for number, row in enumerate(self._rows):
            if self.key_of(row) == key:
                return number
        return -1

    # ---- Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.columns):
            return self.columns[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self.cell(self._rows[index.row()], index.column(), role)

    def cell(self, row: T, column: int, role: int) -> Any:
        """What the view shows for `role` in this cell (None for nothing)."""
        raise NotImplementedError


class PagedRowsModel(RowsModel[T]):
    """Rows that arrive a page at a time from the portal: Qt's view asks `fetchMore` as it
    scrolls, which calls `more(next_page)`; the caller fetches off the GUI thread and hands the
    page to `append`."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        #: Where the next page starts (a cursor or a sequence number); None: no more pages.
        self.next_page: Any = None
        self.fetching = False
        self.more: Callable[[Any], None] | None = None

    def set_page(self, rows: Sequence[T], next_page: Any) -> None:
        self.fetching = False
        self.next_page = next_page
        self.set_rows(rows)

    def append(self, rows: Sequence[T], next_page: Any) -> None:
        self.fetching = False
        self.next_page = next_page
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.next_page is not None and not self.fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent) and self.more is not None:
            self.fetching = True
            self.more(self.next_page)
