"""The registration queue: match each portal registration to the right record, or reject it.

Keyboard first: Up/Down move among the candidates, Enter confirms the selected one (after a
confirmation that spells out what disagrees), R rejects with a template reason, S skips to the
next registration (Page Up / Page Down move in the queue too), F finds a record by search when no
candidate is right. Decisions are recorded here and sent through the outbox.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QStackedLayout,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.text import isolate
from visitdesk.desktop.match_service import CandidateView, Review
from visitdesk.desktop.models.registrations import QueueRow
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.tasks import Op
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.registration_dialogs import (
    ConfirmMatchDialog,
    FindRecordDialog,
    RejectDialog,
)
from visitdesk.desktop.views.registrations_table import (
    PRESELECTED_BANDS,
    CandidatesModel,
    ComparisonModel,
    QueueModel,
)
from visitdesk.desktop.views.reload import Reload
from visitdesk.desktop.views.tables import rows_table

log = logging.getLogger(__name__)

#: How often the "waiting" column is redrawn.
TICK_MS = 60_000


def _select(table: QTableView, row: int) -> None:
    index = table.model().index(row, 0)
    table.selectionModel().setCurrentIndex(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    table.scrollTo(index)


def decision_message(done: str, portal_does: str, reachable: bool) -> str:
    """What a recorded decision means now: nothing reaches the patient until the portal has it."""
    if reachable:
        return f"{done} Sending it to the portal, which then {portal_does}."
    return (
        f"{done} Saved on this workstation only: the portal cannot be reached. It is sent when "
        f"the connection is back; only then the portal {portal_does}."
    )


def _selected_row(table: QTableView) -> int:
    rows = table.selectionModel().selectedRows()
    return rows[0].row() if rows else -1


class RegistrationsView(QWidget):
    """Pending registrations on the left; candidates and the comparison on the right."""

    title = "Registrations"
    count_changed = Signal(int)
    message = Signal(str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self._reload = Reload(
            self, ops.registrations.load_queue, self._show_queue, self._load_failed
        )
        # Patient changes may change the shown registration's candidates: one re-ranking at a
        # time (the ops catch the index up first), and none while the screen is hidden.
        self._rereview = Reload(self, self._review_op, self._reviewed_again, self._review_failed)
        self._review_stale = False
        self._rereview_number = 0
        self._review: Review | None = None
        self._asked = 0  # number of the newest review asked for
        self._busy = False
        self._dialog: Any = None
        self.queue_model = QueueModel(ops.session.zone, self)
        self.candidates_model = CandidatesModel(self)
        self.comparison_model = ComparisonModel(self)

        heading = plain_label("Registrations", "screenTitle")
        self._summary = plain_label("", "screenSummary")
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self._summary)

        self.queue_table = rows_table(
            self.queue_model,
            stretch=0,
            keep=(0,),
            empty="No registrations are waiting. Registrations the portal could not match to one record appear here.",
        )
        self.queue_table.setMinimumWidth(340)
        self.queue_table.selectionModel().selectionChanged.connect(self._registration_changed)

        self.registration_label = plain_label("", "registrationDetails")
        self.registration_label.setWordWrap(True)
        self.candidates_table = rows_table(
            self.candidates_model,
            stretch=2,
            keep=(2,),
            empty="No patient record resembles this registration. Find the record by hand or reject it.",
        )
        self.candidates_table.selectionModel().selectionChanged.connect(self._candidate_changed)
        self.candidates_note = plain_label("", "screenSubtitle")
        self.candidates_note.setWordWrap(True)
        self.warning_label = plain_label("", "matchWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.hide()
        self.comparison_table = rows_table(
            self.comparison_model,
            stretch=3,
            keep=(1, 2),
            empty="Choose a candidate to compare it with the registration, field by field.",
        )
        self.comparison_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.comparison_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.comparison_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # The reason is the point of the table: it wraps rather than being cut short.
        self.comparison_table.setWordWrap(True)
        self.comparison_model.modelReset.connect(self.comparison_table.resizeRowsToContents)

        self.confirm_button = QPushButton("Confirm match (Enter)")
        self.reject_button = QPushButton("Reject\u2026 (R)")
        self.reject_button.setObjectName("destructive")
        self.skip_button = QPushButton("Skip (S)")
        self.find_button = QPushButton("Find record\u2026 (F)")
        self.confirm_button.clicked.connect(self.confirm_selected)
        self.reject_button.clicked.connect(self.reject_current)
        self.skip_button.clicked.connect(self.skip)
        self.find_button.clicked.connect(self.find_record)
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button)
        buttons.addStretch(1)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.confirm_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.registration_label)
        right_layout.addWidget(plain_label("Candidate records", "sectionTitle"))
        right_layout.addWidget(self.candidates_table, 2)
        right_layout.addWidget(self.candidates_note)
        right_layout.addWidget(self.warning_label)
        right_layout.addWidget(plain_label("Field by field", "sectionTitle"))
        right_layout.addWidget(self.comparison_table, 3)
        right_layout.addLayout(buttons)

        splitter = QSplitter()
        splitter.addWidget(self.queue_table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([340, 830])

        self._empty = plain_label(
            "No registrations are waiting.\n"
            "A patient whose details match no single record appears here for you to match.",
            "emptyState",
        )
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack = QStackedLayout()
        self._stack.addWidget(self._empty)
        self._stack.addWidget(splitter)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self._stack, 1)

        for keys, slot in (
            ((Qt.Key.Key_Return, Qt.Key.Key_Enter), self.confirm_selected),
            ((Qt.Key.Key_R,), self.reject_current),
            ((Qt.Key.Key_S, Qt.Key.Key_PageDown), self.skip),
            ((Qt.Key.Key_PageUp,), self.previous),
            ((Qt.Key.Key_F,), self.find_record),
        ):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._update_buttons()
        self.reload()

    # ---- loading

    def on_sync_changed(self, kinds: set[str]) -> None:
        if "patient" in kinds:
            self._candidates_changed()
        if "registration" in kinds:
            self.reload()

    def _candidates_changed(self) -> None:
        """Rank the shown registration again against the changed records.

        A large sync brings a page of patients every few milliseconds; notices that arrive while
        a ranking runs are folded into a single follow-up.
        """
        if not self.isVisible():
            # Nobody is looking: rank again when the screen is next shown. Keeping a large first
            # sync free of index work keeps the rest of the desk responsive.
            self._review_stale = True
            return
        self._review_stale = False
        if self.current_registration() is not None:
            self._rereview.request()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._review_stale:
            self._candidates_changed()

    def reload(self) -> None:
        self._reload.request()

    def _show_queue(self, rows: list[QueueRow]) -> None:
        current = self.current_registration()
        keep = current.id if current is not None else None
        old_row = _selected_row(self.queue_table)
        self.queue_model.set_rows(rows)
        self._stack.setCurrentIndex(1 if rows else 0)
        count = len(rows)
        self._summary.setText(f"{count} waiting" if count else "")
        self.count_changed.emit(count)
        if rows:
            row = self.queue_model.row_of(keep) if keep is not None else -1
            if row < 0:
                row = min(max(old_row, 0), count - 1)
            _select(self.queue_table, row)
            if not self.queue_table.hasFocus():
                self.candidates_table.setFocus()
        else:
            self._show_review(None)
        # The same registration may stay selected while others arrive: Skip depends on the count.
        self._update_buttons()

    def _load_failed(self, error: BaseException) -> None:
        log.error("Loading the registration queue failed: %s", type(error).__name__)
        self.message.emit("The registration queue could not be loaded from the local database.")

    def _tick(self) -> None:
        if self.queue_model.rowCount():
            top = self.queue_model.index(0, 2)
            bottom = self.queue_model.index(self.queue_model.rowCount() - 1, 2)
            self.queue_model.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DisplayRole])

    # ---- the selected registration

    def current_registration(self) -> QueueRow | None:
        row: QueueRow | None = self.queue_model.row_at(_selected_row(self.queue_table))
        return row

    def selected_candidate(self) -> CandidateView | None:
        view: CandidateView | None = self.candidates_model.row_at(
            _selected_row(self.candidates_table)
        )
        return view

    def _registration_changed(self, *_: object) -> None:
        current = self.current_registration()
        if current is None:
            self._show_review(None)
            return
        if self._review is not None and self._review.registration.id == current.id:
            return
        self._review_current()

    def _review_current(self) -> None:
        current = self.current_registration()
        if current is None:
            return
        number = self._ask(current)
        (
            self._ops.registrations.review(current.id)
            .owned_by(self)
            .success(lambda review: self._reviewed(review, number))
            .failure(self._review_failed)
            .run()
        )

    def _ask(self, current: QueueRow) -> int:
        self._asked += 1
        self.registration_label.setText(self._describe(current))
        self.candidates_note.setText("Looking for matching records\u2026")
        return self._asked

    def _review_op(self) -> Op[Review | None]:
        """The shown registration ranked again (nothing when none is shown any more)."""
        current = self.current_registration()
        if current is None:
            return self._ops.tasks.op(lambda: None)
        self._rereview_number = self._ask(current)
        review: Op[Review | None] = self._ops.registrations.review(current.id)  # type: ignore[assignment]
        return review

    def _reviewed_again(self, review: Review | None) -> None:
        if review is not None:
            self._reviewed(review, self._rereview_number)

    def _reviewed(self, review: Review, number: int) -> None:
        if number == self._asked:
            self._show_review(review)

    def _review_failed(self, error: BaseException) -> None:
        log.error("Ranking a registration failed: %s", type(error).__name__)
        self.candidates_note.setText("The candidate records could not be read. Try again.")

    @staticmethod
    def _describe(row: QueueRow) -> str:
        contact = " \u00b7 ".join(
            part
            for part in (
                isolate(row.email),
                row.phone and f"phone {isolate(row.phone)}",
                row.postal_code and f"ZIP {isolate(row.postal_code)}",
            )
            if part
        )
        name = isolate(f"{row.first_name} {row.last_name}")
        text = f"{name}, born {row.date_of_birth:%m/%d/%Y}" + (f"\n{contact}" if contact else "")
        if row.decision_refused:
            text += "\nThe portal did not accept the decision made here earlier; decide again."
        return text

    def _show_review(self, review: Review | None) -> None:
        previous, self._review = self._review, review
        chosen = self.selected_candidate()
        same = (
            previous is not None
            and review is not None
            and previous.registration.id == review.registration.id
        )
        # A record someone chose stays chosen when the same registration is ranked again.
        keep = chosen.record.portal_id if chosen is not None and same else None
        candidates = review.candidates if review is not None else []
        self.candidates_model.set_rows(candidates)
        row = self.candidates_model.index_of(keep) if keep is not None else -1
        if row < 0 and candidates and candidates[0].candidate.band in PRESELECTED_BANDS:
            row = 0  # the best candidate only when it is likely: Enter-Enter never connects a weak one
        if review is None:
            self.registration_label.setText("")
            self.candidates_note.setText("")
        elif not candidates:
            self.candidates_note.setText(
                "No record is similar enough. Press F to find the record by name, date of birth, "
                "MRN or phone, or R to reject."
            )
        elif row < 0:
            self.candidates_note.setText(
                "No candidate is a likely match, so none is selected. Check one with Up/Down "
                "before confirming, press F to find the record, or R to reject."
            )
        else:
            self.candidates_note.setText(
                "Up/Down: choose a record \u00b7 Enter: confirm \u00b7 R: reject \u00b7 "
                "S: skip \u00b7 F: find another record"
            )
        warnings = review.warnings() if review is not None else []
        self.warning_label.setText("\n".join(f"\u26a0 {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))
        if row >= 0:
            _select(self.candidates_table, row)
        self._candidate_changed()

    def _candidate_changed(self, *_: object) -> None:
        view = self.selected_candidate()
        self.comparison_model.set_rows(list(view.candidate.evidence) if view is not None else [])
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_registration = self.current_registration() is not None and not self._busy
        self.confirm_button.setEnabled(has_registration and self.selected_candidate() is not None)
        self.reject_button.setEnabled(has_registration)
        self.skip_button.setEnabled(self.queue_model.rowCount() > 1)
        self.find_button.setEnabled(has_registration)

    # ---- moving in the queue

    def skip(self) -> None:
        count = self.queue_model.rowCount()
        if count > 1 and self._dialog is None:
            _select(self.queue_table, (_selected_row(self.queue_table) + 1) % count)
            self.candidates_table.setFocus()

    def previous(self) -> None:
        count = self.queue_model.rowCount()
        if count > 1 and self._dialog is None:
            _select(self.queue_table, (_selected_row(self.queue_table) - 1) % count)
            self.candidates_table.setFocus()

    # ---- deciding

    def _warnings(self) -> list[str]:
        return self._review.warnings() if self._review is not None else []

    def confirm_selected(self) -> None:
        registration, view = self.current_registration(), self.selected_candidate()
        if registration is None or view is None or self._busy or self._dialog is not None:
            return
        dialog = ConfirmMatchDialog(registration, view, self._warnings(), self)
        dialog.accepted.connect(lambda: self._match(registration, view, dialog.note.text().strip()))
        self._open(dialog)

    def _match(self, registration: QueueRow, view: CandidateView, note: str) -> None:
        self._set_busy(True)
        (
            self._ops.registrations.match(registration.id, view.record.portal_id, view.score, note)
            .owned_by(self)
            .success(
                lambda _item: self._decided(
                    f"Matched {registration.first_name} {registration.last_name} to MRN "
                    f"{view.record.mrn}.",
                    "connects the account and tells the patient",
                )
            )
            .failure(self._decision_failed)
            .run()
        )

    def reject_current(self) -> None:
        registration = self.current_registration()
        if registration is None or self._busy or self._dialog is not None:
            return
        dialog = RejectDialog(registration, self)
        dialog.accepted.connect(lambda: self._reject(registration, dialog.reason_code, dialog.text))
        self._open(dialog)

    def _reject(self, registration: QueueRow, reason_code: str, text: str) -> None:
        self._set_busy(True)
        (
            self._ops.registrations.reject(registration.id, reason_code, text)
            .owned_by(self)
            .success(
                lambda _item: self._decided(
                    f"Rejected the registration of {registration.first_name} "
                    f"{registration.last_name}.",
                    "tells the patient why",
                )
            )
            .failure(self._decision_failed)
            .run()
        )

    def find_record(self) -> None:
        registration = self.current_registration()
        if registration is None or self._busy or self._dialog is not None:
            return
        dialog = FindRecordDialog(self._ops.patients, self)
        # The name may be misspelled or changed; the date of birth narrows the search as well.
        # The name is selected so that typing a corrected one keeps the date.
        name = f"{registration.last_name}, {registration.first_name}"
        dialog.search.field.setText(f"{name} {registration.date_of_birth:%m/%d/%Y}")
        dialog.search.field.setSelection(0, len(name))
        dialog.accepted.connect(lambda: self._compare_found(registration, dialog))
        self._open(dialog)

    def _compare_found(self, registration: QueueRow, dialog: FindRecordDialog) -> None:
        hit = dialog.chosen
        if hit is None or hit.portal_id is None:
            return
        portal_id = hit.portal_id
        (
            self._ops.registrations.compare(registration.id, portal_id)
            .owned_by(self)
            .success(lambda view: self._add_found(registration.id, view))
            .failure(self._review_failed)
            .run()
        )

    def _add_found(self, registration_id: str, view: CandidateView) -> None:
        review = self._review
        if review is None or review.registration.id != registration_id:
            return
        candidates = [c for c in review.candidates if c.record.portal_id != view.record.portal_id]
        self._review = Review(
            review.registration, [*candidates, view], review.duplicates, review.namesakes
        )
        self.candidates_model.set_rows(self._review.candidates)
        _select(self.candidates_table, self.candidates_model.rowCount() - 1)
        self.candidates_table.setFocus()

    def _open(self, dialog: Any) -> None:
        self._dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._dialog_closed)
        dialog.open()
        dialog.activateWindow()

    def _dialog_closed(self, *_: object) -> None:
        self._dialog = None
        self.candidates_table.setFocus()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _decided(self, done: str, portal_does: str) -> None:
        self._set_busy(False)
        self._review = None
        self.message.emit(
            decision_message(done, portal_does, self._ops.registrations.portal_reachable)
        )
        self.reload()

    def _decision_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        log.error("Recording a registration decision failed: %s", type(error).__name__)
        text = str(error) if isinstance(error, (ValueError, LookupError)) else ""
        self.message.emit(
            "The decision could not be saved on this workstation. " + (text or "Please try again.")
        )
        self.reload()
