"""myInfo: patients' changes to their address, phone, email and insurance, reviewed field by field.

Keyboard first: Up/Down move among the fields, A accepts and R rejects the selected field (and
move to the next), V opens the card picture of a card field; "Accept all" decides every field at
once, and "Send decision" records the decision here and sends it through the outbox. "Export
accepted changes…" writes a CSV of what was accepted since this workstation's last export, for
the practice management system.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedLayout,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.text import isolate
from visitdesk.desktop.models.myinfo import ChangeDetail, FieldRow, QueueRow
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.ops.myinfo import AcceptedExport
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.myinfo_table import FieldsModel, QueueModel
from visitdesk.desktop.views.portal_lists import PathChooser, choose_save_path, error_text
from visitdesk.desktop.views.registrations import decision_message
from visitdesk.desktop.views.reload import Reload
from visitdesk.desktop.views.tables import rows_table

log = logging.getLogger(__name__)

#: Feed kinds that change what the screen shows.
KINDS = frozenset({"demographic_change", "patient", "insurance"})


def _selected_row(table: QTableView) -> int:
    rows = table.selectionModel().selectedRows()
    return rows[0].row() if rows else -1


def _select(table: QTableView, row: int) -> None:
    index = table.model().index(row, 0)
    table.selectionModel().setCurrentIndex(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


class CardViewer(QDialog):
    """A card picture fetched from the portal, shown inside the app (never handed to another
    program), scaled to fit."""

    def __init__(self, ops: DeskOps, title: str, image_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._ops = ops
        self.setWindowTitle(title)
        self.resize(760, 560)
        self.status = plain_label("Fetching the picture from the portal\u2026")
        self.status.setWordWrap(True)
        self.picture = plain_label()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.picture)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.loaded = False
        (
            ops.myinfo.card_image(image_id)
            .owned_by(self)
            .success(self._decode)
            .failure(self._failed)
            .run()
        )

    def _decode(self, data: bytes) -> None:
        # Decoding a large JPEG takes a while: off the GUI thread (QImage, unlike QPixmap, may be
        # used there).
        self._ops.tasks.op(QImage.fromData, data).owned_by(self).success(self._show).failure(
            self._failed
        ).run()

    def _show(self, image: QImage) -> None:
        if image.isNull():
            self.status.setText("The portal sent a picture this workstation cannot read.")
            return
        pixmap = QPixmap.fromImage(image)
        if pixmap.width() > 720 or pixmap.height() > 460:
            pixmap = pixmap.scaled(
                720,
                460,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self.picture.setPixmap(pixmap)
        self.status.setText(f"{image.width()} \u00d7 {image.height()} pixels")
        self.loaded = True

    def _failed(self, error: BaseException) -> None:
        self.status.setText(error_text(error, "showing the card picture"))


class MyInfoView(QWidget):
    """Waiting changes on the left; the chosen change, field by field, on the right."""

    title = "myInfo"
    count_changed = Signal(int)
    message = Signal(str)

    def __init__(
        self,
        ops: DeskOps,
        parent: QWidget | None = None,
        *,
        choose_path: PathChooser = choose_save_path,
    ) -> None:
        super().__init__(parent)
        self._ops = ops
        #: Where the export is saved (a file dialog; tests give a folder).
        self.choose_path = choose_path
        self._reload = Reload(self, ops.myinfo.load_queue, self._show_queue, self._load_failed)
        self._detail: ChangeDetail | None = None
        #: Decisions taken so far per change (kept while the queue reloads).
        self._decisions: dict[str, dict[str, str]] = {}
        self._busy = False
        self.viewer: CardViewer | None = None
        self.queue_model = QueueModel(ops.session.zone, self)
        self.fields_model = FieldsModel(self)

        heading = plain_label("myInfo changes", "screenTitle")
        self._summary = plain_label("", "screenSummary")
        self.export_button = QPushButton("Export accepted changes\u2026")
        self.export_button.clicked.connect(self.export_accepted)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self._summary)
        top.addWidget(self.export_button)

        self.queue_table = rows_table(
            self.queue_model,
            stretch=0,
            keep=(0,),
            empty="No changes are waiting. Changes patients send from myInfo appear here.",
        )
        self.queue_table.setMinimumWidth(330)
        self.queue_table.selectionModel().selectionChanged.connect(self._change_selected)

        self.change_label = plain_label("", "registrationDetails")
        # Lines of their own rather than word wrap (a wrapped label's height lags its width);
        # ignored for the width, so a long name is cut off instead of widening the window.
        self.change_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.fields_table = rows_table(
            self.fields_model,
            stretch=2,
            keep=(0,),
            empty="Choose a change on the left to compare it with the record, field by field.",
        )
        self.fields_table.doubleClicked.connect(lambda _index: self.view_card())
        self.fields_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.hint = plain_label(
            "A: accept the field \u00b7 R: reject it \u00b7 V: view the card picture",
            "screenSubtitle",
        )

        self.accept_button = QPushButton("Accept (A)")
        self.reject_button = QPushButton("Reject (R)")
        self.accept_all_button = QPushButton("Accept all")
        self.view_card_button = QPushButton("View card\u2026 (V)")
        self.send_button = QPushButton("Send decision")
        self.send_button.setDefault(True)
        self.accept_button.clicked.connect(lambda: self.decide_selected("accepted"))
        self.reject_button.clicked.connect(lambda: self.decide_selected("rejected"))
        self.accept_all_button.clicked.connect(self.accept_all)
        self.view_card_button.clicked.connect(self.view_card)
        self.send_button.clicked.connect(self.send_decision)
        buttons = QHBoxLayout()
        buttons.addWidget(self.view_card_button)
        buttons.addStretch(1)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.accept_all_button)
        buttons.addWidget(self.send_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.change_label)
        right_layout.addWidget(plain_label("Field by field", "sectionTitle"))
        right_layout.addWidget(self.fields_table, 1)
        right_layout.addWidget(self.hint)
        right_layout.addLayout(buttons)

        splitter = QSplitter()
        splitter.addWidget(self.queue_table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([370, 800])

        self.empty = plain_label(
            "No myInfo changes are waiting.\n"
            "When a patient updates their address, phone, email or insurance on the portal, the "
            "change appears here for you to accept or reject, field by field.",
            "emptyState",
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.empty)
        self._stack.addWidget(splitter)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self._stack, 1)

        for key, slot in (
            (Qt.Key.Key_A, lambda: self.decide_selected("accepted")),
            (Qt.Key.Key_R, lambda: self.decide_selected("rejected")),
            (Qt.Key.Key_V, self.view_card),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._update_buttons()
        self.reload()

    # ---- loading

    def on_sync_changed(self, kinds: set[str]) -> None:
        if kinds & KINDS:
            self.reload()

    def reload(self) -> None:
        self._reload.request()

    def _show_queue(self, rows: list[QueueRow]) -> None:
        current = self.current_change()
        keep = current.id if current is not None else None
        old_row = _selected_row(self.queue_table)
        self.queue_model.set_rows(rows)
        self._stack.setCurrentIndex(1 if rows else 0)
        self._summary.setText(f"{len(rows)} waiting" if rows else "")
        self.count_changed.emit(len(rows))
        live = {row.id for row in rows}
        self._decisions = {k: v for k, v in self._decisions.items() if k in live}
        if rows:
            row = self.queue_model.row_of(keep) if keep is not None else -1
            if row < 0:
                row = min(max(old_row, 0), len(rows) - 1)
            _select(self.queue_table, row)
            shown = self.current_change()
            if (
                self._detail is not None
                and shown is not None
                and self._detail.change.id == shown.id
            ):
                # Still the same change (a new one is read on selection): the record may have
                # changed under it, so read it again.
                self._load_detail()
        else:
            self._show_detail(None)

    def _load_failed(self, error: BaseException) -> None:
        log.error("Loading the myInfo queue failed: %s", type(error).__name__)
        self.message.emit("The myInfo changes could not be loaded from the local database.")

    # ---- the chosen change

    def current_change(self) -> QueueRow | None:
        row: QueueRow | None = self.queue_model.row_at(_selected_row(self.queue_table))
        return row

    def selected_field(self) -> FieldRow | None:
        row: FieldRow | None = self.fields_model.row_at(_selected_row(self.fields_table))
        return row

    def _change_selected(self, *_: object) -> None:
        current = self.current_change()
        if current is None:
            self._show_detail(None)
        elif self._detail is None or self._detail.change.id != current.id:
            self._load_detail()

    def _load_detail(self) -> None:
        current = self.current_change()
        if current is None:
            return
        (
            self._ops.myinfo.load_detail(current.id)
            .owned_by(self)
            .success(self._detail_loaded)
            .failure(lambda _error: self.reload())
            .run()
        )

    def _detail_loaded(self, detail: ChangeDetail) -> None:
        current = self.current_change()
        if current is not None and current.id == detail.change.id:
            self._show_detail(detail)

    def _show_detail(self, detail: ChangeDetail | None) -> None:
        same = (
            detail is not None
            and self._detail is not None
            and self._detail.change.id == detail.change.id
        )
        chosen = self.selected_field() if same else None
        self._detail = detail
        self.fields_model.set_rows(detail.fields if detail is not None else [])
        self.fields_model.set_decisions(self._decisions_of(detail))
        if detail is None:
            self.change_label.setText("")
        else:
            self.change_label.setText(self._describe(detail.change))
            row = self.fields_model.row_of(chosen.field) if chosen is not None else 0
            _select(self.fields_table, max(row, 0))
            self.fields_table.setFocus()
        self._update_buttons()

    def _describe(self, change: QueueRow) -> str:
        born = f", born {change.date_of_birth:%m/%d/%Y}" if change.date_of_birth else ""
        mrn = f" \u00b7 MRN {change.mrn}" if change.mrn else ""
        sent = change.submitted_at.astimezone(self._ops.session.zone)
        text = (
            f"{isolate(change.patient_name)}{born}{mrn}\n"
            f"Sent by {isolate(change.account_name)} on {sent:%m/%d/%Y at %I:%M %p}"
        )
        if change.decision_refused:
            text += "\nThe portal did not accept the decision made here earlier; decide again."
        return text

    def _decisions_of(self, detail: ChangeDetail | None) -> dict[str, str]:
        if detail is None:
            return {}
        return self._decisions.setdefault(detail.change.id, {})

    # ---- deciding

    def decide_selected(self, decision: str) -> None:
        field = self.selected_field()
        if field is None or self._busy or self._detail is None:
            return
        decisions = self._decisions_of(self._detail)
        decisions[field.field] = decision
        self.fields_model.set_decisions(decisions)
        row = _selected_row(self.fields_table)
        if row + 1 < self.fields_model.rowCount():
            _select(self.fields_table, row + 1)
        self._update_buttons()

    def accept_all(self) -> None:
        if self._detail is None or self._busy:
            return
        decisions = self._decisions_of(self._detail)
        decisions.update({row.field: "accepted" for row in self._detail.fields})
        self.fields_model.set_decisions(decisions)
        self._update_buttons()

    def _complete(self) -> bool:
        if self._detail is None:
            return False
        decisions = self._decisions_of(self._detail)
        return all(row.field in decisions for row in self._detail.fields)

    def send_decision(self) -> None:
        detail = self._detail
        if detail is None or self._busy or not self._complete():
            return
        decisions = dict(self._decisions_of(detail))
        accepted = sum(1 for value in decisions.values() if value == "accepted")
        self._busy = True
        self._update_buttons()
        (
            self._ops.myinfo.decide(detail.change.id, decisions)
            .owned_by(self)
            .success(
                lambda _item: self._decided(
                    f"Decided the change for {detail.change.patient_name}: {accepted} of "
                    f"{len(decisions)} fields accepted."
                )
            )
            .failure(self._decision_failed)
            .run()
        )

    def _decided(self, done: str) -> None:
        self._busy = False
        self._detail = None
        self.message.emit(
            decision_message(
                done,
                "updates the record and shows the patient each field's outcome",
                self._ops.myinfo.portal_reachable,
            )
        )
        self.reload()

    def _decision_failed(self, error: BaseException) -> None:
        self._busy = False
        log.error("Recording a myInfo decision failed: %s", type(error).__name__)
        text = str(error) if isinstance(error, (ValueError, LookupError)) else ""
        self.message.emit(
            "The decision could not be saved on this workstation. " + (text or "Please try again.")
        )
        self.reload()

    def _update_buttons(self, *_: object) -> None:
        has_field = self.selected_field() is not None and not self._busy
        self.accept_button.setEnabled(has_field)
        self.reject_button.setEnabled(has_field)
        self.accept_all_button.setEnabled(self._detail is not None and not self._busy)
        self.send_button.setEnabled(not self._busy and self._complete())
        field = self.selected_field()
        self.view_card_button.setEnabled(field is not None and field.is_card)

    # ---- card pictures

    def view_card(self) -> None:
        field = self.selected_field()
        if field is None or not field.is_card:
            return
        if self.viewer is not None:
            self.viewer.close()
        name = self._detail.change.patient_name if self._detail is not None else ""
        viewer = CardViewer(self._ops, f"{field.label} \u2014 {isolate(name)}", field.value, self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.finished.connect(lambda _r: setattr(self, "viewer", None))
        self.viewer = viewer
        viewer.open()

    # ---- export

    def export_accepted(self) -> None:
        self.message.emit("Preparing the export\u2026")
        (
            self._ops.myinfo.export_accepted()
            .owned_by(self)
            .success(self._save_export)
            .failure(lambda error: self.message.emit(error_text(error, "exporting")))
            .run()
        )

    def _save_export(self, export: AcceptedExport) -> None:
        if export.rows == 0:
            if export.change_ids:
                self._ops.myinfo.mark_exported(export.change_ids).owned_by(self).run()
            self.message.emit("Nothing to export: no change was accepted since the last export.")
            return
        path = self.choose_path(
            self, "Export accepted changes", "myinfo-accepted-changes.csv", "CSV files (*.csv)"
        )
        if path is None:
            return
        if path.suffix.lower() != ".csv":
            path = path.with_suffix(".csv")
        (
            self._ops.save_file(path, export.data)
            .owned_by(self)
            .success(lambda _n: self._exported(path, export))
            .failure(lambda _e: self.message.emit(f"Could not save to {path}."))
            .run()
        )

    def _exported(self, path: Path, export: AcceptedExport) -> None:
        (
            self._ops.myinfo.mark_exported(export.change_ids)
            .owned_by(self)
            .success(
                lambda _r: self.message.emit(
                    f"Saved {export.rows} accepted change{'s' if export.rows != 1 else ''} "
                    f"to {path.name}."
                )
            )
            .failure(lambda error: self.message.emit(error_text(error, "marking the export")))
            .run()
        )
