"""Tabs of the Statements screen beside the history: accounts on hold and portal payments.

Holds live in this desk's local database only: they steer which accounts a statement run from
this desk includes, and the portal never sees them.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.text import isolate
from visitdesk.desktop.models.billing import HoldTarget, PaymentRow
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.patient_search import PatientSearchBox
from visitdesk.desktop.views.reload import Reload
from visitdesk.desktop.views.statements_table import HoldsModel, PaymentsModel
from visitdesk.desktop.views.tables import rows_table
from visitdesk.reports.statement import money

log = logging.getLogger(__name__)

#: Feed kinds that change what the payments tab shows.
PAYMENT_KINDS = frozenset({"payment", "ledger_line", "patient"})
#: How many payments the tab lists.
PAYMENT_LIMIT = 500


class HoldsPanel(QWidget):
    """Accounts on hold, with Place hold… and Release hold."""

    message = Signal(str)
    #: Emitted after a hold was placed or released (the run preview is then stale).
    holds_changed = Signal()

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self.service = ops.billing
        self.dialog: PlaceHoldDialog | None = None
        self.loaded = False
        self.model = HoldsModel(ops.session.zone, self)
        self.table = rows_table(
            self.model,
            stretch=3,
            keep=(0,),
            empty="No account is on hold: every account with a balance can get a statement.",
        )
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        note = plain_label(
            "Accounts on hold get no statement while \u201cLeave out accounts on hold\u201d is "
            "ticked. Holds are kept on this desk only; patients still see their balance and "
            "can pay on the portal."
        )
        note.setWordWrap(True)
        self.place_button = QPushButton("Place hold\u2026")
        self.place_button.clicked.connect(self.ask_place)
        self.release_button = QPushButton("Release hold")
        self.release_button.setObjectName("secondary")
        self.release_button.clicked.connect(self.release_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(note, 1)
        buttons.addWidget(self.release_button)
        buttons.addWidget(self.place_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        self._update_buttons()
        self.reload()

    def reload(self, select_mrn: str | None = None) -> None:
        (
            self.service.holds()
            .owned_by(self)
            .success(lambda rows: self._show(rows, select_mrn))
            .failure(lambda error: self._failed("The accounts on hold could not be loaded", error))
            .run()
        )

    def _show(self, rows: list[Any], select_mrn: str | None) -> None:
        self.model.set_rows(rows)
        self.loaded = True
        if select_mrn is not None:
            for n, row in enumerate(rows):
                if row.guarantor_mrn == select_mrn:
                    self.table.selectRow(n)
        self._update_buttons()

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _update_buttons(self, *_: object) -> None:
        self.release_button.setEnabled(self.selected() is not None)

    def ask_place(self) -> PlaceHoldDialog:
        dialog = PlaceHoldDialog(self._ops, self)
        dialog.chosen.connect(self.place)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def place(self, guarantor_mrn: str, reason: str) -> None:
        (
            self.service.place_hold(guarantor_mrn, reason)
            .owned_by(self)
            .success(
                lambda _n: self._changed(f"Account {guarantor_mrn} is on hold.", guarantor_mrn)
            )
            .failure(lambda error: self._failed("The hold could not be saved", error))
            .run()
        )

    def release_selected(self) -> None:
        row = self.selected()
        if row is None:
            return
        mrn = row.guarantor_mrn
        (
            self.service.release_hold(mrn)
            .owned_by(self)
            .success(lambda _n: self._changed(f"The hold on account {mrn} is released.", None))
            .failure(lambda error: self._failed("The hold could not be released", error))
            .run()
        )

    def _changed(self, text: str, select_mrn: str | None) -> None:
        self.message.emit(text)
        self.reload(select_mrn)
        self.holds_changed.emit()

    def _failed(self, what: str, error: BaseException) -> None:
        log.error("%s: %s", what, type(error).__name__)
        self.message.emit(f"{what}. The details are in the log.")


class PlaceHoldDialog(QDialog):
    """Find the patient, see whose account their statements go to, give a reason."""

    #: (guarantor MRN, reason)
    chosen = Signal(str, str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Place an account on hold")
        self.setMinimumSize(640, 460)
        self.service = ops.billing
        self.target: HoldTarget | None = None
        self._asked = 0
        self.search = PatientSearchBox(ops.patients, self)
        self.search.patient_chosen.connect(self._patient_chosen)
        self.account_label = plain_label("Find the patient whose account to hold.")
        self.account_label.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setMaxLength(200)
        self.reason.setPlaceholderText("Why (for example: disputed charge, payment plan)")
        self.reason.setAccessibleName("Reason for the hold")
        self.reason.textChanged.connect(self._update)
        self.error = plain_label("", "formError")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton(
            "Place hold", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.accepted.connect(self.accept_hold)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label("Patient"))
        layout.addWidget(self.search, 1)
        layout.addWidget(self.account_label)
        layout.addWidget(plain_label("Reason"))
        layout.addWidget(self.reason)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._update()

    def _patient_chosen(self, hit: Any) -> None:
        self._asked += 1
        self.target = None
        if hit is None:
            self.account_label.setText("Find the patient whose account to hold.")
            self._update()
            return
        number = self._asked
        self.account_label.setText("Looking up the account\u2026")
        (
            self.service.hold_target(hit.mrn)
            .owned_by(self)
            .success(lambda target: self._show_target(target, number))
            .failure(self._lookup_failed)
            .run()
        )
        self._update()

    def _show_target(self, target: HoldTarget, number: int) -> None:
        if number != self._asked:
            return
        self.target = target
        holder = isolate(target.guarantor_name) or "(not in the patient list)"
        text = f"Account {isolate(target.guarantor_mrn)}, {holder}"
        if target.guarantor_mrn != target.patient_mrn:
            text += f" (the guarantor for patient {target.patient_mrn})"
        if target.balance_cents is None:
            text += ": no ledger lines yet."
        else:
            text += f": balance {money(target.balance_cents)}."
        if target.on_hold:
            text += " This account is already on hold."
        self.account_label.setText(text)
        self._update()

    def _lookup_failed(self, error: BaseException) -> None:
        log.error("Hold account lookup failed: %s", type(error).__name__)
        self.account_label.setText("The account could not be looked up. Try again.")

    def _update(self, *_: object) -> None:
        ready = (
            self.target is not None and not self.target.on_hold and bool(self.reason.text().strip())
        )
        self.ok_button.setEnabled(ready)

    def accept_hold(self) -> None:
        if self.target is None:
            self.error.setText("Choose the patient first.")
            return
        if self.target.on_hold:
            self.error.setText("This account is already on hold.")
            return
        reason = " ".join(self.reason.text().split())
        if not reason:
            self.error.setText("A hold needs a reason.")
            return
        self.chosen.emit(self.target.guarantor_mrn, reason)
        self.accept()


class PortalPaymentsPanel(QWidget):
    """Payments patients made on the portal, newest first; read-only."""

    message = Signal(str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = ops.billing
        self.loaded = False
        self._reload = Reload(
            self, lambda: self.service.portal_payments(PAYMENT_LIMIT), self._show, self._failed
        )
        self.model = PaymentsModel(ops.session.zone, self)
        self.table = rows_table(
            self.model,
            stretch=2,
            keep=(1, 2),
            empty="No payments made in the portal yet.",
        )
        self.summary = plain_label("", "screenSubtitle")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.reload()

    def on_sync_changed(self, kinds: set[str]) -> None:
        if kinds & PAYMENT_KINDS:
            self.reload()

    def reload(self) -> None:
        self._reload.request()

    def _show(self, rows: list[PaymentRow]) -> None:
        self.model.set_rows(rows)
        self.loaded = True
        if rows:
            count = f"{len(rows):,} card payment{'s' if len(rows) != 1 else ''}"
            latest = "The latest " if len(rows) >= PAYMENT_LIMIT else ""
            self.summary.setText(
                f"{latest}{count} patients made on the portal, newest first. Each one is "
                "posted to the account holder's ledger as a portal payment."
            )
        else:
            self.summary.setText("No patient has paid on the portal yet.")

    def _failed(self, error: BaseException) -> None:
        log.error("Portal payments could not be loaded: %s", type(error).__name__)
        self.message.emit("The portal payments could not be loaded. The details are in the log.")
