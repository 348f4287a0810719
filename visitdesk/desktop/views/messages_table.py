"""Item model of the Messages screen's thread list, and the text helpers its views share.

Cells hold the text as written; the table (`views.tables`) isolates each cell when drawing it.

The store sorts and filters threads in SQL; the model holds the slice it shows. Clicking a header
does not sort here: `sort()` announces the wanted order and the screen reloads it from the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont

from visitdesk.api.text import isolate
from visitdesk.api.wire_messages import TOPIC_LABELS
from visitdesk.desktop.models.messages import ThreadOrder, ThreadRow
from visitdesk.desktop.views.rows import RowsModel

COLUMNS = ("Patient", "Topic", "Message", "Age", "With")
PATIENT_COLUMN, TOPIC_COLUMN, PREVIEW_COLUMN, AGE_COLUMN, ASSIGNED_COLUMN = range(len(COLUMNS))
#: The SQL order each sortable column stands for (the preview is not sortable).
COLUMN_ORDER = {
    PATIENT_COLUMN: ThreadOrder.PATIENT,
    TOPIC_COLUMN: ThreadOrder.TOPIC,
    AGE_COLUMN: ThreadOrder.ACTIVITY,
    ASSIGNED_COLUMN: ThreadOrder.ASSIGNED,
}


def body_text(text: str) -> str:
    """A message body for a label: each line isolated, its invisible characters revealed (a
    right-to-left override shows as [U+202E] and cannot reorder anything), line breaks kept."""
    return "\n".join(isolate(line) for line in text.replace("\r\n", "\n").split("\n"))


def one_line(text: str) -> str:
    """A body shown on one row: whitespace runs folded (the table isolates each cell itself)."""
    return " ".join(text.split())


def age(moment: datetime, now: datetime) -> str:
    """How long ago, in the fewest words a busy desk reads at a glance."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def patient_label(name: str | None) -> str:
    return name or "(patient not yet synced)"


class ThreadsModel(RowsModel[ThreadRow]):
    """One row per thread; unread threads in bold."""

    columns = COLUMNS
    #: The user asked for another order (column's `ThreadOrder`, descending?).
    order_requested = Signal(object, bool)

    def __init__(self, now: Any = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now(UTC))
        self._bold = QFont()
        self._bold.setBold(True)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        wanted = COLUMN_ORDER.get(column)
        if wanted is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if wanted is ThreadOrder.ACTIVITY:
            # "Age" ascending means youngest first, i.e. newest activity first.
            descending = not descending
        self.order_requested.emit(wanted, descending)

    def tick(self) -> None:
        """The clock moved: redraw the age column."""
        if self._rows:
            top = self.index(0, AGE_COLUMN)
            bottom = self.index(len(self._rows) - 1, AGE_COLUMN)
            self.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DisplayRole])

    def cell(self, row: ThreadRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.FontRole and row.unread:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and column == PREVIEW_COLUMN:
            return isolate(one_line(row.preview))
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and row.unread:
            return "unread"
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def _display(self, row: ThreadRow, column: int) -> str:
        if column == PATIENT_COLUMN:
            return patient_label(row.patient_name)
        if column == TOPIC_COLUMN:
            return TOPIC_LABELS[row.topic]
        if column == PREVIEW_COLUMN:
            return one_line(row.preview)
        if column == AGE_COLUMN:
            return age(row.last_message_at, self._now())
        return row.assigned_name or "\u2014"
