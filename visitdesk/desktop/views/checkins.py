"""The live check-in board: who tapped I'm Here today, how long they have waited, and their status."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.ops.desk import CHECKIN_ROLES, MESSAGE_ROLES, DeskOps
from visitdesk.desktop.views.checkins_table import CheckInsModel
from visitdesk.desktop.views.reload import Reload
from visitdesk.desktop.views.tables import rows_table

log = logging.getLogger(__name__)

#: How often the waiting minutes are redrawn.
TICK_MS = 15_000


def plain_label(text: str = "", object_name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if object_name:
        label.setObjectName(object_name)
    return label


class CheckInsView(QWidget):
    """Today's arrivals, refreshed whenever the change feed brings check-in news."""

    title = "Check-ins"
    waiting_changed = Signal(int)
    message = Signal(str)
    #: The arrival chat (thread id) of the selected check-in should be shown.
    chat_requested = Signal(str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self._day: date = ops.session.today()
        self._reload = Reload(
            self, lambda: ops.checkins.load_board(self._day), self._show_rows, self._load_failed
        )
        self.model = CheckInsModel(ops.session.zone, parent=self)

        heading = plain_label("Check-ins", "screenTitle")
        self._date_label = plain_label("", "screenSubtitle")
        self._summary = plain_label("", "screenSummary")
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self._date_label)
        top.addStretch(1)
        top.addWidget(self._summary)

        self.table = rows_table(
            self.model, stretch=0, keep=(0,), empty="No one has checked in yet today."
        )
        self.table.horizontalHeader().setMinimumSectionSize(90)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)

        self._empty = plain_label(
            "No one has checked in yet today.\n"
            "Patients appear here the moment they tap \u201cI\u2019m Here\u201d in the portal app.",
            "emptyState",
        )
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack = QStackedLayout()
        self._stack.addWidget(self._empty)
        self._stack.addWidget(self.table)

        self.acknowledge_button = QPushButton("Acknowledge (A)")
        self.acknowledge_button.setToolTip("Let the patient know the front desk has seen them (A)")
        self.roomed_button = QPushButton("Mark roomed (R)")
        self.roomed_button.setToolTip("The patient has been taken to a room (R)")
        self.acknowledge_button.clicked.connect(
            lambda: self._set_status(CheckInStatus.ACKNOWLEDGED)
        )
        self.roomed_button.clicked.connect(lambda: self._set_status(CheckInStatus.ROOMED))
        self.chat_button = QPushButton("Open chat")
        self.chat_button.setToolTip("The chat the patient's I\u2019m Here tap began (C)")
        self.chat_button.clicked.connect(self.open_chat)
        buttons = QHBoxLayout()
        buttons.addWidget(self.chat_button)
        buttons.addStretch(1)
        buttons.addWidget(self.acknowledge_button)
        buttons.addWidget(self.roomed_button)
        may_act = ops.session.can(CHECKIN_ROLES)
        self.acknowledge_button.setVisible(may_act)
        self.roomed_button.setVisible(may_act)
        self.chat_button.setVisible(ops.session.can(MESSAGE_ROLES))
        if may_act:
            for key, status in (("A", CheckInStatus.ACKNOWLEDGED), ("R", CheckInStatus.ROOMED)):
                shortcut = QShortcut(QKeySequence(key), self.table)
                shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
                shortcut.activated.connect(lambda s=status: self._set_status(s))
        if ops.session.can(MESSAGE_ROLES):
            chat = QShortcut(QKeySequence("C"), self.table)
            chat.setContext(Qt.ShortcutContext.WidgetShortcut)
            chat.activated.connect(self.open_chat)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self._stack, 1)
        layout.addLayout(buttons)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._update_header()
        self._update_buttons()
        self.reload()

    # ---- loading

    def on_sync_changed(self, kinds: set[str]) -> None:
        if kinds & {"checkin", "patient", "appointment"}:
            self.reload()

    def reload(self) -> None:
        """Fetch today's board off the GUI thread; coalesce bursts of change notices."""
        self._reload.request()

    def _show_rows(self, rows: list[Any]) -> None:
        selected = self.selected_id()
        self.model.set_rows(rows)
        self._stack.setCurrentWidget(self.table if rows else self._empty)
        if selected is not None:
            self.select_id(selected)
        self._update_header()
        self._update_buttons()

    def _load_failed(self, error: BaseException) -> None:
        log.error("Loading the check-in board failed: %s", type(error).__name__)
        self.message.emit("The check-in board could not be loaded from the local database.")

    def _tick(self) -> None:
        today = self._ops.session.today()
        if today != self._day:
            self._day = today
            self.reload()
        self.model.tick()

    # ---- selection and actions

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = self.model.row_at(rows[0].row())
        return row.id if row is not None else None

    def select_id(self, checkin_id: str) -> None:
        number = self.model.row_of(checkin_id)
        if number < 0:
            return
        self.table.selectionModel().select(
            self.model.index(number, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(self.model.index(number, 0))

    def _update_buttons(self, *_: object) -> None:
        rows = self.table.selectionModel().selectedRows()
        row = self.model.row_at(rows[0].row()) if rows else None
        status = CheckInStatus(row.status) if row is not None else None
        self.acknowledge_button.setEnabled(status == CheckInStatus.ARRIVED)
        self.chat_button.setEnabled(row is not None)
        self.roomed_button.setEnabled(status in (CheckInStatus.ARRIVED, CheckInStatus.ACKNOWLEDGED))

    def _update_header(self) -> None:
        self._date_label.setText(f"{self._day:%A, %B} {self._day.day}")
        total = self.model.rowCount()
        waiting = self.model.waiting_count()
        self._summary.setText(f"{waiting} waiting \u00b7 {total} checked in today")
        self.waiting_changed.emit(waiting)

    def _set_status(self, status: CheckInStatus) -> None:
        checkin_id = self.selected_id()
        if checkin_id is None:
            return
        row = self.model.row_at(self.model.row_of(checkin_id))
        allowed = {
            CheckInStatus.ACKNOWLEDGED: (CheckInStatus.ARRIVED,),
            CheckInStatus.ROOMED: (CheckInStatus.ARRIVED, CheckInStatus.ACKNOWLEDGED),
        }
        if row is None or CheckInStatus(row.status) not in allowed.get(status, ()):
            return
        self.acknowledge_button.setEnabled(False)
        self.roomed_button.setEnabled(False)
        (
            self._ops.checkins.set_status(checkin_id, status)
            .owned_by(self)
            .success(lambda _item: self.reload())
            .failure(self._status_failed)
            .run()
        )

    def open_chat(self) -> None:
        """Ask for the arrival chat of the selected check-in (found in the store, off the GUI)."""
        checkin_id = self.selected_id()
        if checkin_id is None:
            return
        (
            self._ops.messages.arrival_thread(checkin_id)
            .owned_by(self)
            .success(self._chat_found)
            .failure(lambda _error: self._chat_found(None))
            .run()
        )

    def _chat_found(self, thread_id: str | None) -> None:
        if thread_id is None:
            self.message.emit(
                "This arrival has no chat on this workstation yet; try again shortly."
            )
            return
        self.chat_requested.emit(thread_id)

    def _status_failed(self, error: BaseException) -> None:
        log.error("Recording a check-in status failed: %s", type(error).__name__)
        self.message.emit("The status could not be saved on this workstation. Please try again.")
        self.reload()
