"""Item models of the myInfo screen: the queue of changes, and the field-by-field table of one
change (the record's value beside the patient's, and the decision taken on each field)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.api.wire_myinfo import RELATIONSHIP_WORDS
from visitdesk.desktop.models.myinfo import FieldRow, QueueRow
from visitdesk.desktop.views.registrations_table import waited
from visitdesk.desktop.views.rows import RowsModel

DECISION_LABELS = {"accepted": "Accept", "rejected": "Reject", "": "Not decided"}
_DECISION_COLOURS = {"accepted": QColor("#dcfce7"), "rejected": QColor("#fee2e2")}
NOTHING = "\u2014"


class QueueModel(RowsModel[QueueRow]):
    columns = ("Patient", "MRN", "Waiting")

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def cell(self, row: QueueRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.patient_name
            if column == 1:
                return row.mrn
            return waited(row.submitted_at, datetime.now(UTC))
        if role == Qt.ItemDataRole.ToolTipRole and column == 2:
            sent = row.submitted_at.astimezone(self._zone)
            fields = f"{row.field_count} field{'s' if row.field_count != 1 else ''}"
            return f"Sent {sent:%m/%d/%Y %I:%M %p}, {fields}"
        return None


def shown_value(row: FieldRow, value: str, *, patients: bool) -> str:
    """What a cell says: a card picture is named, never shown as its id."""
    if row.is_card:
        if patients:
            return "New picture (V to view)"
        return "Picture on file (V to view)" if value else "No picture on file"
    if row.field == "insurance_relationship":
        return RELATIONSHIP_WORDS.get(value, value) or NOTHING
    return value or NOTHING


class FieldsModel(RowsModel[FieldRow]):
    columns = ("Field", "On record", "Patient's value", "Decision")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.decisions: dict[str, str] = {}

    def key_of(self, row: FieldRow) -> Any:
        return row.field

    def set_decisions(self, decisions: dict[str, str]) -> None:
        self.decisions = decisions
        if self.rows:
            last = self.index(len(self.rows) - 1, len(self.columns) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def cell(self, row: FieldRow, column: int, role: int) -> Any:
        decision = self.decisions.get(row.field, "")
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.label
            if column == 1:
                return shown_value(row, row.on_record, patients=False)
            if column == 2:
                return shown_value(row, row.value, patients=True)
            return DECISION_LABELS[decision]
        if role == Qt.ItemDataRole.BackgroundRole and column == 3 and decision:
            return QBrush(_DECISION_COLOURS[decision])
        return None
