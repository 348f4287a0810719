"""Item model of patient search results (at most a page of hits; the search runs in SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.desktop.models.patient_search import PatientHit
from visitdesk.desktop.views.rows import RowsModel

COLUMNS = ("Patient", "Date of birth", "MRN", "Phone")


class PatientResultsModel(RowsModel[PatientHit]):
    """Search hits, replaced wholesale on every search."""

    columns = COLUMNS

    def set_hits(self, hits: Sequence[PatientHit]) -> None:
        self.set_rows(hits)

    def hit_at(self, row: int) -> PatientHit | None:
        return self.row_at(row)

    def cell(self, hit: PatientHit, column: int, role: int) -> Any:
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
            # A QBrush, not a Qt.GlobalColor: views (and Qt's model tester) expect a brush or colour.
            return QBrush(QColor("#52606d"))
        if role == Qt.ItemDataRole.UserRole:
            return hit.id
        return None
