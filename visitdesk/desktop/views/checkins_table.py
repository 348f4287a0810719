"""Item models of the check-in desk: the arrivals list and today's schedule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.api.wire import CheckInStatus
from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.models.schedule import ArrivalRow, ScheduleRow
from visitdesk.desktop.views.rows import RowsModel

#: Beside the schedule in a 1280-wide window: the provider is in the appointment's tooltip (and
#: the schedule), the arrival time in the status tooltip; the waiting minutes say the rest.
COLUMNS = ("Patient", "Appt.", "Waiting", "Status")
WAITING_COLUMN = COLUMNS.index("Waiting")
STATUS_COLUMN = COLUMNS.index("Status")

STATUS_LABELS = {
    CheckInStatus.ARRIVED: "Arrived",
    CheckInStatus.ACKNOWLEDGED: "Acknowledged",
    CheckInStatus.ROOMED: "Roomed",
    CheckInStatus.DONE: "Done",
    CheckInStatus.CANCELLED: "Cancelled",
}
ATTEMPT_LABELS = {
    "too_early": "App: too early",
    "too_late": "App: too late",
    "no_appointment": "App: no appt.",
    "cancelled": "App: cancelled",
}
ATTEMPT_TIPS = {
    "too_early": "Tapped I\u2019m Here before the arrival window opened; told to see the desk",
    "too_late": "Tapped I\u2019m Here after the arrival window closed; told to see the desk",
    "no_appointment": "Tapped I\u2019m Here with no appointment today; told to see the desk",
    "cancelled": "Tapped I\u2019m Here for a cancelled appointment; told to see the desk",
}
_STATUS_COLOURS = {
    CheckInStatus.ARRIVED: QColor("#fde8c8"),
    CheckInStatus.ACKNOWLEDGED: QColor("#dbeafe"),
    CheckInStatus.ROOMED: QColor("#dcfce7"),
    CheckInStatus.DONE: QColor("#e5e7eb"),
    CheckInStatus.CANCELLED: QColor("#e5e7eb"),
}
ATTEMPT_COLOUR = QColor("#fef9c3")
#: Waiting-cell colours: (background, text) at the amber and the red threshold. The text
#: colours keep 4.5:1 on their backgrounds.
WAIT_WARNING = (QColor("#fef3c7"), QColor("#92400e"))
WAIT_ALERT = (QColor("#fee2e2"), QColor("#b91c1c"))


def format_time(moment: datetime | None, zone: tzinfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local:%I:%M %p}".lstrip("0")


def format_date(day: date | None) -> str:
    return "" if day is None else f"{day:%m/%d/%Y}"


def patient_name(row: ArrivalRow | ScheduleRow) -> str:
    if not row.last_name and not row.first_name:
        return "(patient not yet synced)"
    return f"{row.last_name or ''}, {row.first_name or ''}".strip(", ")


def minutes_waiting(row: ArrivalRow, now: datetime) -> int:
    """Minutes from arrival until the patient was roomed (or now, while still waiting)."""
    status = CheckInStatus(row.status)
    end = now if status in (CheckInStatus.ARRIVED, CheckInStatus.ACKNOWLEDGED) else None
    if end is None:
        end = row.status_changed_at
    return max(0, int((end - row.arrived_at).total_seconds() // 60))


def is_waiting(row: ArrivalRow) -> bool:
    return row.kind == "checkin" and row.status in ("arrived", "acknowledged")


class CheckInsModel(RowsModel[ArrivalRow]):
    """Today's arrivals as the store sorted them: waiting patients (longest wait first), taps the
    portal turned away, roomed, finished. Rows are replaced wholesale from the store."""

    columns = COLUMNS

    def __init__(
        self, zone: tzinfo, now: Callable[[], datetime] | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._zone = zone
        self._now = now or (lambda: datetime.now(UTC))
        self.settings = CheckInSettings()

    def set_settings(self, settings: CheckInSettings) -> None:
        self.settings = settings
        self.tick()

    def tick(self) -> None:
        """The clock moved: refresh the waiting column."""
        if self._rows:
            top = self.index(0, WAITING_COLUMN)
            bottom = self.index(len(self._rows) - 1, WAITING_COLUMN)
            self.dataChanged.emit(
                top,
                bottom,
                [
                    Qt.ItemDataRole.DisplayRole,
                    Qt.ItemDataRole.BackgroundRole,
                    Qt.ItemDataRole.ForegroundRole,
                ],
            )

    def waiting_count(self) -> int:
        return sum(1 for row in self._rows if is_waiting(row))

    def wait_level(self, row: ArrivalRow) -> int:
        """0 fine, 1 past the amber threshold, 2 past the red one (waiting patients only)."""
        if not is_waiting(row):
            return 0
        minutes = minutes_waiting(row, self._now())
        if minutes >= self.settings.wait_alert_minutes:
            return 2
        return 1 if minutes >= self.settings.wait_warning_minutes else 0

    def cell(self, row: ArrivalRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        if role == Qt.ItemDataRole.ToolTipRole and column == 0 and row.date_of_birth:
            return f"{patient_name(row)}, born {format_date(row.date_of_birth)}"
        if role == Qt.ItemDataRole.ToolTipRole and column == 1 and row.provider:
            return f"{row.provider}, {row.location}" if row.location else row.provider
        if column == STATUS_COLUMN:
            return self._status_cell(row, role)
        if column == WAITING_COLUMN:
            level = self.wait_level(row)
            if role == Qt.ItemDataRole.BackgroundRole and level:
                return QBrush((WAIT_WARNING, WAIT_ALERT)[level - 1][0])
            if role == Qt.ItemDataRole.ForegroundRole and level:
                return QBrush((WAIT_WARNING, WAIT_ALERT)[level - 1][1])
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _status_cell(self, row: ArrivalRow, role: int) -> Any:
        if row.kind == "attempt":
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(ATTEMPT_COLOUR)
            if role == Qt.ItemDataRole.ToolTipRole:
                when = format_time(row.arrived_at, self._zone)
                tip = ATTEMPT_TIPS.get(row.reason or "", "Tapped I\u2019m Here")
                return f"{tip} ({when})"
            return None
        status = CheckInStatus(row.status)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(_STATUS_COLOURS[status])
        if role == Qt.ItemDataRole.ToolTipRole:
            how = "at the desk" if row.source == "desk" else "with the app"
            tip = f"Checked in {how} at {format_time(row.arrived_at, self._zone)}"
            if row.status_changed_by:
                when = format_time(row.status_changed_at, self._zone)
                tip += f"; {STATUS_LABELS[status]} by {row.status_changed_by} at {when}"
            return tip
        return None

    def _display(self, row: ArrivalRow, column: int) -> str:
        if column == 0:
            return patient_name(row)
        if column == 1:
            if row.appointment_starts_at is None:
                return "" if row.kind == "attempt" else "Walk-in"
            return format_time(row.appointment_starts_at, self._zone)
        if column == WAITING_COLUMN:
            if row.kind == "attempt" or row.status in ("done", "cancelled"):
                return ""
            return f"{minutes_waiting(row, self._now())} min"
        if row.kind == "attempt":
            return ATTEMPT_LABELS.get(row.reason or "", "App")
        status = CheckInStatus(row.status)
        if status == CheckInStatus.ARRIVED and row.source == "desk":
            return "Arrived (desk)"
        return STATUS_LABELS[status]


#: The location is in the provider's tooltip (and a filter); who changed the state, when, in
#: "Changed" (the full name in its tooltip).
SCHEDULE_COLUMNS = ("Time", "Patient", "Provider", "State", "Changed")
STATE_COLUMN = SCHEDULE_COLUMNS.index("State")
STATE_LABELS = {
    "scheduled": "Scheduled",
    "arrived_app": "Arrived (app)",
    "arrived_desk": "Arrived (desk)",
    "acknowledged": "Acknowledged",
    "roomed": "Roomed",
    "done": "Done",
    "no_show": "No-show",
    "cancelled": "Cancelled",
}
#: Shown instead of "Scheduled" once the no-show grace has passed without an arrival.
LATE_LABEL = "Late: no-show?"
_STATE_COLOURS = {
    "arrived_app": _STATUS_COLOURS[CheckInStatus.ARRIVED],
    "arrived_desk": _STATUS_COLOURS[CheckInStatus.ARRIVED],
    "acknowledged": _STATUS_COLOURS[CheckInStatus.ACKNOWLEDGED],
    "roomed": _STATUS_COLOURS[CheckInStatus.ROOMED],
    "done": _STATUS_COLOURS[CheckInStatus.DONE],
    "no_show": QColor("#fee2e2"),
    "cancelled": _STATUS_COLOURS[CheckInStatus.CANCELLED],
}


class ScheduleModel(RowsModel[ScheduleRow]):
    """The day's appointments in time order, each with its visit state and its last change."""

    columns = SCHEDULE_COLUMNS

    def __init__(
        self, zone: tzinfo, now: Callable[[], datetime] | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._zone = zone
        self._now = now or (lambda: datetime.now(UTC))
        self.settings = CheckInSettings()
        self._late: set[int] = set()

    def set_settings(self, settings: CheckInSettings) -> None:
        self.settings = settings
        self.tick()

    def set_rows(self, rows: Sequence[ScheduleRow]) -> None:
        super().set_rows(rows)
        self._late = self._late_rows()

    def tick(self) -> None:
        """The clock moved: redraw the rows that have just become late (only those: a day of
        2,000 appointments is not redrawn every few seconds)."""
        late = self._late_rows()
        fresh = late ^ self._late
        self._late = late
        if fresh:
            self.dataChanged.emit(
                self.index(min(fresh), STATE_COLUMN), self.index(max(fresh), STATE_COLUMN)
            )

    def _late_rows(self) -> set[int]:
        return {n for n, row in enumerate(self._rows) if self.is_late(row)}

    def is_late(self, row: ScheduleRow) -> bool:
        """No arrival, and the no-show grace after the start has passed: a no-show may be
        marked (and only then)."""
        grace = timedelta(minutes=self.settings.no_show_grace_minutes)
        return row.state == "scheduled" and self._now() >= row.starts_at + grace

    def count(self, *states: str) -> int:
        return sum(1 for row in self._rows if row.state in states)

    def cell(self, row: ScheduleRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.UserRole:
            return row.key
        if column == STATE_COLUMN:
            if role == Qt.ItemDataRole.BackgroundRole:
                colour = _STATE_COLOURS.get(row.state)
                if colour is None and self.is_late(row):
                    colour = WAIT_ALERT[0]
                return QBrush(colour) if colour is not None else None
            if role == Qt.ItemDataRole.ForegroundRole and self.is_late(row):
                return QBrush(WAIT_ALERT[1])
        if role == Qt.ItemDataRole.ToolTipRole and column == len(SCHEDULE_COLUMNS) - 1:
            return self._changed(row, long=True) or None
        if role == Qt.ItemDataRole.ToolTipRole and column == 2:
            return f"{row.provider}, {row.location}" if row.location else row.provider
        return None

    def _changed(self, row: ScheduleRow, long: bool = False) -> str:
        if row.changed_at is None:
            return ""
        when = format_time(row.changed_at, self._zone)
        if not row.changed_by:
            return f"{STATE_LABELS[row.state]} at {when}" if long else when
        if long:
            return f"{STATE_LABELS[row.state]} by {row.changed_by} at {when}"
        # Colleagues go by their first names at the desk; the full name is in the tooltip.
        return f"{when} {row.changed_by.split(' ')[0]}"

    def _display(self, row: ScheduleRow, column: int) -> str:
        if column == 0:
            return format_time(row.starts_at, self._zone)
        if column == 1:
            return patient_name(row)
        if column == 2:
            return row.provider
        if column == STATE_COLUMN:
            return LATE_LABEL if self.is_late(row) else STATE_LABELS[row.state]
        return self._changed(row)
