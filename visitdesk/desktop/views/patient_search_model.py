"""Item model of patient search results (at most a page of hits; the search runs in SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from visitdesk.desktop.models.patient_search import PatientHit

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Patient", "Date of birth", "MRN", "Phone")


class PatientResultsModel(QAbstractTableModel):
    """Search hits, replaced wholesale on every search."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._hits: list[PatientHit] = []

    def set_hits(self, hits: Sequence[PatientHit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit_at(self, row: int) -> PatientHit | None:
        return self._hits[row] if 0 <= row < len(self._hits) else None

    def row_of(self, patient_id: int) -> int:
        for number, hit in enumerate(self._hits):
            if hit.id == patient_id:
                return number
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

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
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return hit.display_name
            if column == 1:
                return f"{hit.date_of_birth:%m/%d/%Y}"
            if column == 2:
                return hit.mrn
            return hit.phone
        if role == Qt.ItemDataRole.ToolTipRole and column == 0 and hit.portal_id is None:
            return "Not yet on the portal: codes can be issued once the import is synced."
        if role == Qt.ItemDataRole.ForegroundRole and hit.portal_id is None:
            return Qt.GlobalColor.gray
        if role == Qt.ItemDataRole.UserRole:
            return hit.id
        return None
