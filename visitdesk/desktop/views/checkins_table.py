"""Item model of the live check-in board."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.views.rows import RowsModel


class BoardRow(Protocol):
    """The fields the board shows; the local store's check-in rows provide them."""

    @property
    def id(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def date_of_birth(self) -> date | None: ...
    @property
    def appointment_starts_at(self) -> datetime | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def arrived_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def status_changed_at(self) -> datetime: ...
    @property
    def status_changed_by(self) -> str | None: ...


COLUMNS = ("Patient", "Date of birth", "Appointment", "Provider", "Arrived", "Waiting", "Status")
WAITING_COLUMN = COLUMNS.index("Waiting")
STATUS_COLUMN = COLUMNS.index("Status")

STATUS_LABELS = {
    CheckInStatus.ARRIVED: "Arrived",
    CheckInStatus.ACKNOWLEDGED: "Acknowledged",
    CheckInStatus.ROOMED: "Roomed",
    CheckInStatus.CANCELLED: "Cancelled",
}
_STATUS_COLOURS = {
    CheckInStatus.ARRIVED: QColor("#fde8c8"),
    CheckInStatus.ACKNOWLEDGED: QColor("#dbeafe"),
    CheckInStatus.ROOMED: QColor("#dcfce7"),
    CheckInStatus.CANCELLED: QColor("#e5e7eb"),
}
#: Minutes after which an unacknowledged arrival is shown as overdue.
OVERDUE_MINUTES = 10


def format_time(moment: datetime | None, zone: tzinfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local:%I:%M %p}".lstrip("0")


def format_date(day: date | None) -> str:
    return "" if day is None else f"{day:%m/%d/%Y}"


def patient_name(row: BoardRow) -> str:
    if not row.last_name and not row.first_name:
        return "(patient not yet synced)"
    return f"{row.last_name or ''}, {row.first_name or ''}".strip(", ")


def minutes_waiting(row: BoardRow, now: datetime) -> int:
    """Minutes from arrival until the patient was roomed (or now, while still waiting)."""
    status = CheckInStatus(row.status)
    end = (
        row.status_changed_at if status in (CheckInStatus.ROOMED, CheckInStatus.CANCELLED) else now
    )
    return max(0, int((end - row.arrived_at).total_seconds() // 60))


class CheckInsModel(RowsModel[BoardRow]):
    """Today's check-ins in arrival order. Rows are replaced wholesale from the store."""

    columns = COLUMNS

    def __init__(
        self, zone: tzinfo, now: Callable[[], datetime] | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._zone = zone
        self._now = now or (lambda: datetime.now(UTC))

    def tick(self) -> None:
        """The clock moved: refresh the waiting column."""
        if self._rows:
            top = self.index(0, WAITING_COLUMN)
            bottom = self.index(len(self._rows) - 1, STATUS_COLUMN)
            self.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DisplayRole])

    def waiting_count(self) -> int:
        active = (CheckInStatus.ARRIVED, CheckInStatus.ACKNOWLEDGED)
        return sum(1 for row in self._rows if CheckInStatus(row.status) in active)

    def cell(self, row: BoardRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS_COLUMN:
            if row.status_changed_by:
                when = format_time(row.status_changed_at, self._zone)
                return f"{STATUS_LABELS[CheckInStatus(row.status)]} by {row.status_changed_by} at {when}"
            return None
        if role == Qt.ItemDataRole.BackgroundRole and column == STATUS_COLUMN:
            return QBrush(_STATUS_COLOURS[CheckInStatus(row.status)])
        if role == Qt.ItemDataRole.ForegroundRole and column == WAITING_COLUMN:
            overdue = (
                CheckInStatus(row.status) == CheckInStatus.ARRIVED
                and minutes_waiting(row, self._now()) >= OVERDUE_MINUTES
            )
            return QBrush(QColor("#b91c1c")) if overdue else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == WAITING_COLUMN:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def _display(self, row: BoardRow, column: int) -> str:
        if column == 0:
            return patient_name(row)
        if column == 1:
            return format_date(row.date_of_birth)
        if column == 2:
            return format_time(row.appointment_starts_at, self._zone) or "Walk-in"
        if column == 3:
            return row.provider or ""
        if column == 4:
            return format_time(row.arrived_at, self._zone)
        if column == WAITING_COLUMN:
            return f"{minutes_waiting(row, self._now())} min"
        return STATUS_LABELS[CheckInStatus(row.status)]
