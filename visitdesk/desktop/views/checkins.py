"""The check-in desk: the front desk runs the day from here.

Arrivals on the left (patients waiting, the longest wait on top; I'm Here taps the portal turned
away; roomed and finished visits), today's schedule on the right with each visit's state and who
changed it when. Both are read, sorted and filtered by provider and location in SQL, off the GUI
thread. Every change goes through the outbox and reaches the other desks through the feed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire import CheckInStatus
from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.models.board import AlreadyCheckedIn, NotANoShow
from visitdesk.desktop.models.schedule import ArrivalRow, Board, BoardFilter, ScheduleRow
from visitdesk.desktop.ops.desk import CHECKIN_ROLES, CHECKIN_RULE_ROLES, MESSAGE_ROLES, DeskOps
from visitdesk.desktop.views.checkin_dialogs import CheckInRulesDialog, WalkInDialog
from visitdesk.desktop.views.checkins_table import (
    STATE_COLUMN,
    STATUS_COLUMN,
    CheckInsModel,
    ScheduleModel,
    is_waiting,
)
from visitdesk.desktop.views.reload import Reload
from visitdesk.desktop.views.tables import RowsTable, rows_table
from visitdesk.desktop.views.waiting_room import WaitingRoomWindow

log = logging.getLogger(__name__)

#: How often the waiting minutes (and "late" appointments) are redrawn.
TICK_MS = 5_000
#: Rows measured when the columns are fitted to their contents.
FIT_SAMPLE_ROWS = 40
ALL_PROVIDERS = "All providers"
ALL_LOCATIONS = "All locations"


def plain_label(text: str = "", object_name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if object_name:
        label.setObjectName(object_name)
    return label


def _shortcut(key: str, widget: QWidget, action: Callable[[], None]) -> QShortcut:
    shortcut = QShortcut(QKeySequence(key), widget)
    shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
    shortcut.activated.connect(action)
    return shortcut


def _select(table: RowsTable, number: int) -> None:
    if number < 0:
        return
    model = table.model()
    table.selectionModel().select(
        model.index(number, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    table.setCurrentIndex(model.index(number, 0))
    table.scrollTo(model.index(number, 0))


class CheckInsView(QWidget):
    """Today's arrivals beside today's schedule, refreshed whenever the feed brings news."""

    title = "Check-ins"
    waiting_changed = Signal(int)
    message = Signal(str)
    #: New arrivals since the last load (never on the first load): how many.
    arrivals_came = Signal(int)
    #: The arrival chat (thread id) of the selected check-in should be shown.
    chat_requested = Signal(str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self._day: date = ops.session.today()
        self._filter = BoardFilter()
        self._known: set[str] | None = None
        #: The waiting-room display shows initials only (a workstation setting).
        self.initials_only = False
        self.waiting_room: WaitingRoomWindow | None = None
        #: A check-in this desk just made: selected once the board shows it.
        self._pending_select: str | None = None
        self.board: Board | None = None
        self._reload = Reload(self, self._load, self._show_board, self._load_failed)
        zone = ops.session.zone
        self.model = CheckInsModel(zone, parent=self)
        self.schedule_model = ScheduleModel(zone, parent=self)
        may_act = ops.session.can(CHECKIN_ROLES)

        heading = plain_label("Check-ins", "screenTitle")
        self._date_label = plain_label("", "screenSubtitle")
        self._summary = plain_label("", "screenSummary")
        self.provider_filter = QComboBox()
        self.provider_filter.setAccessibleName("Provider")
        self.provider_filter.addItem(ALL_PROVIDERS)
        self.location_filter = QComboBox()
        self.location_filter.setAccessibleName("Location")
        self.location_filter.addItem(ALL_LOCATIONS)
        for combo in (self.provider_filter, self.location_filter):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(14)
            combo.currentIndexChanged.connect(self._filter_changed)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self._date_label)
        top.addStretch(1)
        top.addWidget(self.provider_filter)
        top.addWidget(self.location_filter)
        top.addWidget(self._summary)

        # ---- arrivals
        self.table = rows_table(
            self.model,
            stretch=0,
            keep=(0, STATUS_COLUMN),
            empty="No one has checked in yet today.",
        )
        self.table.setAccessibleName("Arrivals")
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._empty = plain_label(
            "No one has checked in yet today.\n"
            "Patients appear here the moment they tap \u201cI\u2019m Here\u201d in the portal app.",
            "emptyState",
        )
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self._empty)
        self._stack.addWidget(self.table)

        self.arrival_check_in_button = QPushButton("Check in (I)")
        self.arrival_check_in_button.setToolTip(
            "Check in at the desk a patient the app turned away (I)"
        )
        self.acknowledge_button = QPushButton("Acknowledge (A)")
        self.acknowledge_button.setToolTip("Let the patient know the front desk has seen them (A)")
        self.roomed_button = QPushButton("Roomed (R)")
        self.roomed_button.setToolTip("The patient has been taken to a room (R)")
        self.done_button = QPushButton("Done (D)")
        self.done_button.setToolTip("The visit is over; the patient has left (D)")
        self.arrival_check_in_button.clicked.connect(self.check_in_arrival)
        self.acknowledge_button.clicked.connect(
            lambda: self._set_status(CheckInStatus.ACKNOWLEDGED)
        )
        self.roomed_button.clicked.connect(lambda: self._set_status(CheckInStatus.ROOMED))
        self.done_button.clicked.connect(lambda: self._set_status(CheckInStatus.DONE))
        self.chat_button = QPushButton("Open chat (C)")
        self.chat_button.setToolTip("The chat the patient\u2019s I\u2019m Here tap began (C)")
        self.chat_button.clicked.connect(self.open_chat)
        self.arrival_buttons = QHBoxLayout()
        for button in (
            self.chat_button,
            self.arrival_check_in_button,
            self.acknowledge_button,
            self.roomed_button,
            self.done_button,
        ):
            self.arrival_buttons.addWidget(button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addWidget(plain_label("Arrivals", "sectionTitle"))
        left_layout.addLayout(self._stack, 1)

        # ---- schedule
        self.schedule_table = rows_table(
            self.schedule_model,
            stretch=1,
            keep=(0, 1, STATE_COLUMN),
            empty="No appointments today for this provider and location.",
        )
        self.schedule_table.setAccessibleName("Today's schedule")
        for table in (self.table, self.schedule_table):
            # Columns fit the rows on screen and those near them, not all of a 2,000-row day:
            # measuring every row took most of a second of the GUI thread on each reload.
            table.horizontalHeader().setResizeContentsPrecision(FIT_SAMPLE_ROWS)
        self.schedule_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.desk_check_in_button = QPushButton("Check in at desk (I)")
        self.desk_check_in_button.setToolTip(
            "Check in the selected patient at the desk, without the app (I)"
        )
        self.no_show_button = QPushButton("No-show (N)")
        self.no_show_button.setToolTip(
            "Mark the selected patient a no-show (only once the grace period has passed) (N)"
        )
        self.desk_check_in_button.clicked.connect(self.check_in_scheduled)
        self.no_show_button.clicked.connect(self.mark_no_show)
        # One row of actions under both lists (the arrivals' on the left, the schedule's on the
        # right), so neither list is made wider than it needs by its buttons.
        self.arrival_buttons.addStretch(1)
        self.arrival_buttons.addWidget(self.desk_check_in_button)
        self.arrival_buttons.addWidget(self.no_show_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addWidget(plain_label("Today\u2019s schedule", "sectionTitle"))
        right_layout.addWidget(self.schedule_table, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        # Shares of whatever width the window has (sizes are scaled to it).
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([4_500, 5_500])

        # ---- the day's tools
        self.walk_in_button = QPushButton("Check in a patient\u2026 (W)")
        self.walk_in_button.setToolTip("Find a patient without the app and check them in (W)")
        self.walk_in_button.clicked.connect(self.open_walk_in)
        self.waiting_room_button = QPushButton("Waiting-room display")
        self.waiting_room_button.setToolTip(
            "Open the waiting-room view for a second monitor or a TV (first names only)"
        )
        self.waiting_room_button.clicked.connect(self.open_waiting_room)
        self.settings_button = QPushButton("Check-in rules\u2026")
        self.settings_button.setToolTip(
            "Arrival window, no-show grace and waiting thresholds for the practice"
        )
        self.settings_button.clicked.connect(self.open_rules)
        tools = QHBoxLayout()
        tools.addWidget(self.walk_in_button)
        tools.addWidget(self.waiting_room_button)
        tools.addWidget(self.settings_button)
        tools.addStretch(1)

        for button in (
            self.arrival_check_in_button,
            self.acknowledge_button,
            self.roomed_button,
            self.done_button,
            self.desk_check_in_button,
            self.no_show_button,
            self.walk_in_button,
        ):
            button.setVisible(may_act)
        self.settings_button.setVisible(ops.session.can(CHECKIN_RULE_ROLES))
        self.chat_button.setVisible(ops.session.can(MESSAGE_ROLES))
        if ops.session.can(MESSAGE_ROLES):
            _shortcut("C", self.table, self.open_chat)
        if may_act:
            _shortcut("A", self.table, lambda: self._set_status(CheckInStatus.ACKNOWLEDGED))
            _shortcut("R", self.table, lambda: self._set_status(CheckInStatus.ROOMED))
            _shortcut("D", self.table, lambda: self._set_status(CheckInStatus.DONE))
            _shortcut("I", self.table, self.check_in_arrival)
            _shortcut("I", self.schedule_table, self.check_in_scheduled)
            _shortcut("N", self.schedule_table, self.mark_no_show)
            walk_in = QShortcut(QKeySequence("W"), self)
            walk_in.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            walk_in.activated.connect(self.open_walk_in)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(self.arrival_buttons)
        layout.addLayout(tools)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._update_header()
        self._update_buttons()
        self.reload()

    # ---- loading

    def on_sync_changed(self, kinds: set[str]) -> None:
        if kinds & {"checkin", "patient", "appointment", "arrival_attempt", "checkin_settings"}:
            self.reload()

    def reload(self) -> None:
        """Fetch today's board off the GUI thread; coalesce bursts of change notices."""
        self._reload.request()

    def _load(self) -> Any:
        return self._ops.checkins.load_desk(self._day, self._filter)

    def _show_board(self, board: Board) -> None:
        self.board = board
        selected = self.selected_id()
        scheduled = self.selected_appointment()
        self.model.set_settings(board.settings)
        self.schedule_model.set_settings(board.settings)
        self.model.set_rows(board.arrivals)
        self.schedule_model.set_rows(board.schedule)
        self._stack.setCurrentWidget(self.table if board.arrivals else self._empty)
        if self._pending_select is not None and self.model.row_of(self._pending_select) >= 0:
            selected, self._pending_select = self._pending_select, None
            self.table.setFocus()
        if selected is not None:
            self.select_id(selected)
        if scheduled is not None:
            _select(self.schedule_table, self.schedule_model.row_of(scheduled.key))
        self._fill_filter(self.provider_filter, ALL_PROVIDERS, board.providers)
        self._fill_filter(self.location_filter, ALL_LOCATIONS, board.locations)
        self._note_arrivals(board.arrivals)
        self._update_header()
        self._update_buttons()

    def _note_arrivals(self, rows: list[ArrivalRow]) -> None:
        ids = {row.id for row in rows if row.kind == "checkin"}
        if self._known is not None and not self._filter.provider and not self._filter.location:
            fresh = [row for row in rows if row.id in ids - self._known and is_waiting(row)]
            if fresh:
                self.arrivals_came.emit(len(fresh))
        if not self._filter.provider and not self._filter.location:
            self._known = ids
        elif self._known is not None:
            self._known |= ids

    def _fill_filter(self, combo: QComboBox, everyone: str, values: list[str]) -> None:
        current = combo.currentText()
        wanted = [everyone, *values]
        if current not in wanted:
            wanted.append(current)  # a chosen filter stays even if its last visit went
        if [combo.itemText(i) for i in range(combo.count())] == wanted:
            return
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(wanted)
        combo.setCurrentText(current)
        combo.blockSignals(False)

    def _filter_changed(self, *_: object) -> None:
        provider = self.provider_filter.currentText()
        location = self.location_filter.currentText()
        self._filter = BoardFilter(
            provider=None if provider == ALL_PROVIDERS else provider,
            location=None if location == ALL_LOCATIONS else location,
        )
        self.reload()

    def _load_failed(self, error: BaseException) -> None:
        log.error("Loading the check-in board failed: %s", type(error).__name__)
        self.message.emit("The check-in board could not be loaded from the local database.")

    def _tick(self) -> None:
        today = self._ops.session.today()
        if today != self._day:
            self._day = today
            self._known = None
            self.reload()
        self.model.tick()
        self.schedule_model.tick()
        self._update_buttons()

    # ---- selection

    def selected_id(self) -> str | None:
        row = self.selected_arrival()
        return row.id if row is not None else None

    def selected_arrival(self) -> ArrivalRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def selected_appointment(self) -> ScheduleRow | None:
        rows = self.schedule_table.selectionModel().selectedRows()
        return self.schedule_model.row_at(rows[0].row()) if rows else None

    def select_id(self, checkin_id: str) -> None:
        _select(self.table, self.model.row_of(checkin_id))

    def select_appointment(self, appointment_id: str) -> None:
        number = next(
            (
                n
                for n, row in enumerate(self.schedule_model.rows)
                if row.appointment_id == appointment_id
            ),
            -1,
        )
        _select(self.schedule_table, number)

    def _update_buttons(self, *_: object) -> None:
        row = self.selected_arrival()
        status = row.status if row is not None and row.kind == "checkin" else None
        self.arrival_check_in_button.setEnabled(row is not None and row.kind == "attempt")
        # Only a tap in the app begins an arrival chat.
        self.chat_button.setEnabled(
            row is not None and row.kind == "checkin" and row.source == "app"
        )
        self.acknowledge_button.setEnabled(status == "arrived")
        self.roomed_button.setEnabled(status in ("arrived", "acknowledged"))
        self.done_button.setEnabled(status in ("arrived", "acknowledged", "roomed"))
        appointment = self.selected_appointment()
        can_arrive = (
            appointment is not None
            and appointment.patient_id is not None
            and appointment.appointment_id is not None
            and appointment.state in ("scheduled", "no_show")
        )
        self.desk_check_in_button.setEnabled(can_arrive)
        self.no_show_button.setEnabled(
            appointment is not None
            and appointment.appointment_id is not None
            and self.schedule_model.is_late(appointment)
        )

    def _update_header(self) -> None:
        self._date_label.setText(f"{self._day:%A, %B} {self._day.day}")
        waiting = self.model.waiting_count()
        arrived = self.schedule_model.count(
            "arrived_app", "arrived_desk", "acknowledged", "roomed", "done"
        )
        total = self.schedule_model.rowCount() - self.schedule_model.count("cancelled")
        self._summary.setText(f"{waiting} waiting \u00b7 {arrived} of {total} arrived")
        self.waiting_changed.emit(waiting)

    # ---- actions

    def _set_status(self, status: CheckInStatus) -> None:
        row = self.selected_arrival()
        if row is None or row.kind != "checkin":
            return
        allowed = {
            CheckInStatus.ACKNOWLEDGED: ("arrived",),
            CheckInStatus.ROOMED: ("arrived", "acknowledged"),
            CheckInStatus.DONE: ("arrived", "acknowledged", "roomed"),
        }
        if row.status not in allowed.get(status, ()):
            return
        self.acknowledge_button.setEnabled(False)
        self.roomed_button.setEnabled(False)
        self.done_button.setEnabled(False)
        (
            self._ops.checkins.set_status(row.id, status)
            .owned_by(self)
            .success(lambda change: self._status_set(status, change.told))
            .failure(self._change_failed)
            .run()
        )

    def _status_set(self, status: CheckInStatus, told: bool) -> None:
        if status == CheckInStatus.ACKNOWLEDGED:
            self.message.emit(
                "Acknowledged; the patient is told in the arrival chat."
                if told
                else "Acknowledged (no arrival chat to tell the patient in)."
            )
        self.reload()

    def check_in_arrival(self) -> None:
        """Check in at the desk the patient of a turned-away tap (for its appointment, if any)."""
        row = self.selected_arrival()
        if row is None or row.kind != "attempt":
            return
        self.check_in(row.patient_id, row.appointment_id)

    def check_in_scheduled(self) -> None:
        """Check in at the desk the selected appointment's patient."""
        row = self.selected_appointment()
        if row is None or row.patient_id is None or row.appointment_id is None:
            return
        if row.state not in ("scheduled", "no_show"):
            return
        self.check_in(row.patient_id, row.appointment_id)

    def check_in(self, patient_id: str, appointment_id: str | None) -> None:
        """Check a patient in at the desk; the new arrival is selected when the board shows it."""
        self.desk_check_in_button.setEnabled(False)
        self.arrival_check_in_button.setEnabled(False)
        (
            self._ops.checkins.check_in_at_desk(patient_id, appointment_id, self._day)
            .owned_by(self)
            .success(lambda made: self._checked_in(made[0]))
            .failure(self._change_failed)
            .run()
        )

    def _checked_in(self, checkin_id: str) -> None:
        self._pending_select = checkin_id
        self.reload()
        self.message.emit("Checked in at the desk.")

    def mark_no_show(self) -> None:
        row = self.selected_appointment()
        if row is None or row.appointment_id is None or not self.schedule_model.is_late(row):
            return
        self.no_show_button.setEnabled(False)
        (
            self._ops.checkins.mark_no_show(row.appointment_id)
            .owned_by(self)
            .success(lambda _item: self.reload())
            .failure(self._change_failed)
            .run()
        )

    def open_chat(self) -> None:
        """Ask for the arrival chat of the selected check-in (found in the store, off the GUI)."""
        row = self.selected_arrival()
        if row is None or row.kind != "checkin":
            return
        (
            self._ops.messages.arrival_thread(row.id)
            .owned_by(self)
            .success(self._chat_found)
            .failure(lambda _error: self._chat_found(None))
            .run()
        )

    def _chat_found(self, thread_id: str | None) -> None:
        if thread_id is None:
            self.message.emit(
                "This arrival has no chat (checked in at the desk, or not on this workstation yet)."
            )
            return
        self.chat_requested.emit(thread_id)

    # ---- the day's tools

    def open_walk_in(self) -> WalkInDialog:
        """Find a patient without the app and check them in (not modal to the event loop)."""
        dialog = WalkInDialog(self._ops.patients, self)
        dialog.accepted.connect(lambda: self._walk_in_chosen(dialog))
        dialog.open()
        return dialog

    def _walk_in_chosen(self, dialog: WalkInDialog) -> None:
        patient = dialog.patient
        if patient is not None and patient.portal_id is not None:
            self.check_in(patient.portal_id, None)

    def open_rules(self) -> CheckInRulesDialog:
        """A manager's check-in rules for the whole practice."""
        current = self.board.settings if self.board is not None else CheckInSettings()
        dialog = CheckInRulesDialog(current, self)
        dialog.accepted.connect(lambda: self._save_rules(dialog.settings()))
        dialog.open()
        return dialog

    def _save_rules(self, settings: CheckInSettings) -> None:
        (
            self._ops.checkins.save_settings(settings)
            .owned_by(self)
            .success(lambda _item: self._rules_saved())
            .failure(self._change_failed)
            .run()
        )

    def _rules_saved(self) -> None:
        self.message.emit("Check-in rules saved; every desk receives them.")
        self.reload()

    def open_waiting_room(self) -> WaitingRoomWindow:
        """The waiting-room display (one per desk), following this board."""
        if self.waiting_room is None:
            self.waiting_room = WaitingRoomWindow(
                self.model, self._ops.session.practice.name, self.initials_only, self
            )
            self.waiting_room.resize(1280, 800)
        if self.waiting_room.isVisible():
            self.waiting_room.raise_()  # already open (on the other screen): bring it forward
        self.waiting_room.show()
        return self.waiting_room

    def set_initials_only(self, initials_only: bool) -> None:
        self.initials_only = initials_only
        if self.waiting_room is not None:
            self.waiting_room.set_initials_only(initials_only)

    def _change_failed(self, error: BaseException) -> None:
        if isinstance(error, (AlreadyCheckedIn, NotANoShow)):
            self.message.emit(str(error))
        else:
            log.error("Recording a check-in change failed: %s", type(error).__name__)
            self.message.emit(
                "The change could not be saved on this workstation. Please try again."
            )
        self.reload()
