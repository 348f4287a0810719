"""The Statements screen: pick accounts, preview, generate in the background, print, and reprint."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.files import write_whole
from visitdesk.api.text import isolate
from visitdesk.desktop.models.billing import (
    MESSAGE_KEYS,
    RunPreview,
    StatementFilters,
    StatementSettings,
    check_template,
)
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.ops.statement_run import RunCancelled, RunResult, SettingsIncomplete
from visitdesk.desktop.printing import PdfFilePrintJob, PdfPreviewJob, choose_pdf_path
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.statements_accounts import HoldsPanel, PortalPaymentsPanel
from visitdesk.desktop.views.statements_table import RunsModel, StatementsModel
from visitdesk.desktop.views.tables import rows_table
from visitdesk.reports.statement import money

log = logging.getLogger(__name__)

#: Accounts named in the preview when addresses do not fit; the rest are counted.
UNFIT_LISTED = 10

MESSAGE_TITLES = {
    "current": "Current balance",
    "days_31_60": "Oldest charge 31\u201360 days",
    "days_61_90": "Oldest charge 61\u201390 days",
    "days_91_120": "Oldest charge 91\u2013120 days",
    "over_120": "Oldest charge over 120 days",
    "credit": "Credit balance",
}


class StatementsView(QWidget):
    """Statement runs for billing clerks and office managers."""

    title = "Statements"
    message = Signal(str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self.service = ops.billing
        self.settings: StatementSettings | None = None
        self.preview_result: RunPreview | None = None
        self.last_result: RunResult | None = None
        self._cancel: threading.Event | None = None
        self.print_job: Any = None

        top = QHBoxLayout()
        top.addWidget(plain_label("Statements", "screenTitle"))
        self.date_label = plain_label("", "screenSubtitle")
        top.addWidget(self.date_label)
        top.addStretch(1)
        self.settings_button = QPushButton("Statement settings\u2026")
        self.settings_button.setObjectName("secondary")
        self.settings_button.clicked.connect(self.edit_settings)
        self.patient_button = QPushButton("Statement for a patient\u2026")
        self.patient_button.setObjectName("secondary")
        self.patient_button.clicked.connect(self.ask_patient_statement)
        top.addWidget(self.patient_button)
        top.addWidget(self.settings_button)

        self.banner = QFrame()
        self.banner.setObjectName("problemBanner")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.addWidget(
            plain_label(
                "Statements need the practice's remit-to address. Add it in Statement settings "
                "before the first run."
            ),
            1,
        )
        self.banner.hide()

        filters = QGroupBox("Which accounts get a statement")
        form = QFormLayout(filters)
        self.min_balance = QDoubleSpinBox()
        self.min_balance.setPrefix("$ ")
        self.min_balance.setRange(0.0, 100_000.0)
        self.min_balance.setDecimals(2)
        self.min_balance.setValue(5.00)
        self.days_since = QSpinBox()
        self.days_since.setRange(0, 365)
        self.days_since.setValue(25)
        self.days_since.setSuffix(" days")
        self.use_days = QCheckBox("Skip accounts sent a statement in the last")
        self.use_days.setChecked(True)
        days_row = QHBoxLayout()
        days_row.addWidget(self.use_days)
        days_row.addWidget(self.days_since)
        days_row.addStretch(1)
        self.exclude_zero = QCheckBox("Zero balances")
        self.exclude_credit = QCheckBox("Credit balances")
        self.exclude_holds = QCheckBox("Accounts on hold")
        excluded = QHBoxLayout()
        for box in (self.exclude_zero, self.exclude_credit, self.exclude_holds):
            box.setChecked(True)
            excluded.addWidget(box)
        excluded.addStretch(1)
        form.addRow("Minimum balance", self.min_balance)
        form.addRow("Recently billed", days_row)
        form.addRow("Leave out", excluded)
        for widget in (self.min_balance, self.days_since):
            widget.valueChanged.connect(self._filters_changed)
        for box in (self.use_days, self.exclude_zero, self.exclude_credit, self.exclude_holds):
            box.toggled.connect(self._filters_changed)

        self.preview_label = plain_label("", "screenSummary")
        self.preview_label.setWordWrap(True)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setObjectName("secondary")
        self.preview_button.clicked.connect(self.run_preview)
        self.generate_button = QPushButton("Generate statements")
        self.generate_button.clicked.connect(self.generate)
        self.generate_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("secondary")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        # Accounts whose address would run out of the envelope window: fix the record first.
        self.unfit_label = plain_label("", "formError")
        self.unfit_label.setWordWrap(True)
        self.unfit_label.hide()
        actions = QHBoxLayout()
        actions.addWidget(self.preview_button)
        actions.addWidget(self.preview_label, 1)
        actions.addWidget(self.progress, 1)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.generate_button)

        self.runs_model = RunsModel(ops.session.zone, self)
        self.runs_table = rows_table(
            self.runs_model,
            stretch=4,
            empty="No statement runs yet. Preview, then generate statements above.",
        )
        self.runs_table.selectionModel().selectionChanged.connect(self._run_selected)
        self.print_run_button = QPushButton("Print run\u2026")
        self.print_run_button.clicked.connect(self.print_selected_run)
        self.save_run_button = QPushButton("Save run as PDF\u2026")
        self.save_run_button.setObjectName("secondary")
        self.save_run_button.clicked.connect(self.save_selected_run)
        run_buttons = QHBoxLayout()
        run_buttons.addStretch(1)
        run_buttons.addWidget(self.save_run_button)
        run_buttons.addWidget(self.print_run_button)
        runs_box = QWidget()
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.setContentsMargins(0, 0, 0, 0)
        runs_layout.addWidget(self.runs_table, 1)
        runs_layout.addLayout(run_buttons)

        self.statements_model = StatementsModel(self)
        self.statements_table = rows_table(
            self.statements_model,
            stretch=1,
            keep=(1,),
            empty="Select a run above to list its statements.",
        )
        self.statements_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.reprint_button = QPushButton("Reprint statement\u2026")
        self.reprint_button.clicked.connect(lambda: self.reprint_selected(save=False))
        self.save_statement_button = QPushButton("Save statement as PDF\u2026")
        self.save_statement_button.setObjectName("secondary")
        self.save_statement_button.clicked.connect(lambda: self.reprint_selected(save=True))
        statement_buttons = QHBoxLayout()
        statement_buttons.addWidget(plain_label("Statements in the selected run"))
        statement_buttons.addStretch(1)
        statement_buttons.addWidget(self.save_statement_button)
        statement_buttons.addWidget(self.reprint_button)
        statements_box = QWidget()
        statements_layout = QVBoxLayout(statements_box)
        statements_layout.setContentsMargins(0, 0, 0, 0)
        statements_layout.addLayout(statement_buttons)
        statements_layout.addWidget(self.statements_table, 1)

        history = QSplitter(Qt.Orientation.Vertical)
        history.addWidget(runs_box)
        history.addWidget(statements_box)
        self.holds = HoldsPanel(ops)
        self.holds.message.connect(self.message)
        self.holds.holds_changed.connect(self._holds_changed)
        self.payments = PortalPaymentsPanel(ops)
        self.payments.message.connect(self.message)
        self.tabs = tabs = QTabWidget()
        tabs.addTab(history, "History of runs")
        tabs.addTab(self.holds, "Accounts on hold")
        tabs.addTab(self.payments, "Portal payments")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(filters)
        layout.addLayout(actions)
        layout.addWidget(self.unfit_label)
        layout.addWidget(tabs, 1)
        self.date_label.setText(f"Statement date {ops.session.today():%m/%d/%Y}")
        self._update_buttons()
        self.reload()

    # ---- filters and preview

    def filters(self) -> StatementFilters:
        return StatementFilters(
            min_balance_cents=round(self.min_balance.value() * 100),
            min_days_since_last=self.days_since.value() if self.use_days.isChecked() else None,
            exclude_zero=self.exclude_zero.isChecked(),
            exclude_credit=self.exclude_credit.isChecked(),
            exclude_holds=self.exclude_holds.isChecked(),
        )

    def _filters_changed(self, *_: object) -> None:
        self.days_since.setEnabled(self.use_days.isChecked())
        self.preview_result = None
        self.preview_label.setText("Preview to see how many statements these filters give.")
        self.generate_button.setEnabled(False)

    def _holds_changed(self) -> None:
        # A shown preview counted the old holds: count again (unless a run is going).
        if self.preview_result is not None and not self.running:
            self.run_preview()
        elif not self.running:
            self._filters_changed()

    def on_sync_changed(self, kinds: set[str]) -> None:
        self.payments.on_sync_changed(kinds)
        if kinds & {"patient"}:
            self.holds.reload()

    def showEvent(self, event: QShowEvent) -> None:
        # Settings may have been saved elsewhere since the screen was built (the demo fills them
        # in after sign-in; another workstation may have saved them): never show a stale banner.
        super().showEvent(event)
        self.reload_settings()

    def reload_settings(self) -> None:
        self.service.settings().owned_by(self).success(self._show_settings).run()

    def run_preview(self) -> None:
        self.preview_button.setEnabled(False)
        self.preview_label.setText("Counting\u2026")
        # Generate depends on the settings as they are now, so read them with the count.
        self.reload_settings()
        (
            self.service.preview(self.filters())
            .owned_by(self)
            .success(self._show_preview)
            .failure(lambda error: self._failed("The preview could not be made", error))
            .run()
        )

    def _show_preview(self, result: RunPreview) -> None:
        self.preview_result = result
        self.preview_button.setEnabled(True)
        noun = "statement" if result.count == 1 else "statements"
        self.preview_label.setText(
            f"{result.count:,} {noun}, {money(result.total_cents)} due in total"
            if result.count
            else "No account matches these filters."
        )
        ready = self.settings is not None and self.settings.ready
        self.generate_button.setEnabled(result.count > 0 and ready)
        self._show_unfit(result)

    def _show_unfit(self, result: RunPreview) -> None:
        unfit = result.unfit_addresses
        self.unfit_label.setVisible(bool(unfit))
        if not unfit:
            return
        listed = "; ".join(isolate(f"{u.name} ({u.guarantor_mrn})") for u in unfit[:UNFIT_LISTED])
        more = f" and {len(unfit) - UNFIT_LISTED:,} more" if len(unfit) > UNFIT_LISTED else ""
        noun = "address does" if len(unfit) == 1 else "addresses do"
        self.unfit_label.setText(
            f"{len(unfit):,} {noun} not fit the envelope window and would print outside it: "
            f"{listed}{more}. Shorten the address in the practice system (or put these accounts "
            "on hold) before mailing."
        )

    # ---- generating

    def generate(self) -> None:
        if self.preview_result is None or not self.preview_result.count:
            return
        self._cancel = threading.Event()
        self.progress.setRange(0, self.preview_result.count)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.preview_label.hide()
        for widget in (self.generate_button, self.preview_button, self.settings_button):
            widget.setEnabled(False)
        (
            self.service.generate(self.filters(), self._cancel)
            .owned_by(self)
            .with_progress(self._on_progress)
            .success(self._generated)
            .failure(self._generate_failed)
            .run()
        )

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.preview_label.setText("Cancelling\u2026 nothing from this run will be kept.")
            self.preview_label.show()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _end_run(self) -> None:
        self._cancel = None
        self.progress.hide()
        self.cancel_button.hide()
        self.preview_label.show()
        self.preview_button.setEnabled(True)
        self.settings_button.setEnabled(True)
        self.preview_result = None
        self.generate_button.setEnabled(False)

    def _generated(self, result: RunResult) -> None:
        self._end_run()
        self.last_result = result
        self.preview_label.setText(
            f"Run #{result.run_id}: {result.statement_count:,} statements "
            f"({result.page_count:,} pages), {money(result.total_cents)} due. "
            "Print it or save it below."
        )
        self.message.emit(f"Statement run #{result.run_id} is ready to print.")
        self.reload(select_run=result.run_id)

    def _generate_failed(self, error: BaseException) -> None:
        self._end_run()
        if isinstance(error, RunCancelled):
            self.preview_label.setText("Run cancelled. Nothing was recorded.")
        elif isinstance(error, SettingsIncomplete | ValueError):
            self.preview_label.setText(str(error))
        else:
            self._failed("The statements could not be generated; nothing was recorded", error)

    # ---- history

    def reload(self, select_run: int | None = None) -> None:
        self.reload_settings()
        (
            self.service.history()
            .owned_by(self)
            .success(lambda rows: self._show_runs(rows, select_run))
            .failure(lambda error: self._failed("The history could not be loaded", error))
            .run()
        )

    def _show_settings(self, settings: StatementSettings) -> None:
        self.settings = settings
        self.banner.setVisible(not settings.ready)
        if self.preview_result is not None and not self.running:
            self.generate_button.setEnabled(self.preview_result.count > 0 and settings.ready)

    def _show_runs(self, rows: list[Any], select_run: int | None) -> None:
        self.runs_model.set_rows(rows)
        target = 0
        if select_run is not None:
            target = next((n for n, row in enumerate(rows) if row.id == select_run), 0)
        if rows:
            self.runs_table.selectRow(target)
        else:
            self.statements_model.set_rows([])
        self._update_buttons()

    def selected_run(self) -> Any:
        rows = self.runs_table.selectionModel().selectedRows()
        return self.runs_model.row_at(rows[0].row()) if rows else None

    def selected_statement(self) -> Any:
        rows = self.statements_table.selectionModel().selectedRows()
        return self.statements_model.row_at(rows[0].row()) if rows else None

    def _run_selected(self, *_: object) -> None:
        run = self.selected_run()
        self._update_buttons()
        if run is None:
            return
        (
            self.service.statements_of(run.id)
            .owned_by(self)
            .success(self._show_statements)
            .failure(lambda error: self._failed("The statements could not be loaded", error))
            .run()
        )

    def _show_statements(self, rows: list[Any]) -> None:
        self.statements_model.set_rows(rows)
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        has_run = self.selected_run() is not None
        self.print_run_button.setEnabled(has_run)
        self.save_run_button.setEnabled(has_run)
        has_statement = self.selected_statement() is not None
        self.reprint_button.setEnabled(has_statement)
        self.save_statement_button.setEnabled(has_statement)

    # ---- printing and saving

    def print_selected_run(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        (
            self.service.run_pdf(run.id)
            .owned_by(self)
            .success(lambda path: self._print_file(path, f"statement run #{run.id}"))
            .failure(lambda error: self._failed("The run's file could not be opened", error))
            .run()
        )

    def _print_file(self, path: Path, title: str) -> None:
        def progress(done: int, total: int) -> None:
            self.message.emit(f"Printing {title}: page {done:,} of {total:,}\u2026")

        self.print_job = PdfFilePrintJob(
            self._ops.tasks, path, title, self, self._print_done, progress
        )
        self.print_job.start()

    def _print_done(self, text: str) -> None:
        self.print_job = None
        self.message.emit(text)

    def save_selected_run(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        target = choose_pdf_path(self, f"statements-run-{run.id}.pdf")
        if target is None:
            return

        def copy(path: Path) -> None:
            self._ops.tasks.op(lambda: write_whole(target, path.read_bytes())).owned_by(
                self
            ).success(lambda _n: self.message.emit(f"Saved {target.name}.")).failure(
                lambda error: self._failed("The file could not be saved", error)
            ).run()

        self.service.run_pdf(run.id).owned_by(self).success(copy).failure(
            lambda error: self._failed("The run's file could not be opened", error)
        ).run()

    def reprint_selected(self, *, save: bool) -> None:
        statement = self.selected_statement()
        if statement is None:
            return
        name = f"statement-{statement.guarantor_mrn}-{statement.statement_date:%Y%m%d}.pdf"
        (
            self.service.reprint(statement.id)
            .owned_by(self)
            .success(lambda pdf: self.deliver(pdf, name, save=save))
            .failure(lambda error: self._failed("The archived statement could not be read", error))
            .run()
        )

    def deliver(self, pdf: bytes, name: str, *, save: bool) -> None:
        """Print (with preview) or save one statement's bytes."""
        if save:
            target = choose_pdf_path(self, name)
            if target is not None:
                self._ops.save_file(target, pdf).owned_by(self).success(
                    lambda _n: self.message.emit(f"Saved {target.name}.")
                ).failure(lambda error: self._failed("The file could not be saved", error)).run()
            return
        self.print_job = PdfPreviewJob(self._ops.tasks, pdf, "Statement", self, self._print_done)
        self.print_job.start()

    # ---- single statements and settings

    def ask_patient_statement(self) -> None:
        mrn, ok = QInputDialog.getText(self, "Statement for a patient", "Patient's MRN:")
        if ok and mrn.strip():
            self.statement_for_patient(mrn.strip(), save=False)

    def statement_for_patient(self, mrn: str, *, save: bool) -> None:
        (
            self.service.statement_for_patient(mrn)
            .owned_by(self)
            .success(lambda made: self._made_on_demand(made, save))
            .failure(self._on_demand_failed)
            .run()
        )

    def _made_on_demand(self, made: Any, save: bool) -> None:
        self.reload()
        self.deliver(made.pdf, f"statement-{made.guarantor_mrn}.pdf", save=save)

    def _on_demand_failed(self, error: BaseException) -> None:
        if isinstance(error, SettingsIncomplete | LookupError):
            self.message.emit(str(error).strip("'\""))
        else:
            self._failed("The statement could not be made", error)

    def edit_settings(self) -> StatementSettingsDialog | None:
        if self.settings is None:
            return None
        dialog = StatementSettingsDialog(self.settings, self)
        dialog.saved.connect(self._save_settings)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _save_settings(self, settings: StatementSettings) -> None:
        (
            self.service.save_settings(settings)
            .owned_by(self)
            .success(lambda _n: (self.message.emit("Statement settings saved."), self.reload()))
            .failure(lambda error: self._failed("The settings could not be saved", error))
            .run()
        )

    def _failed(self, what: str, error: BaseException) -> None:
        log.error("%s: %s", what, type(error).__name__)
        self.preview_button.setEnabled(True)
        self.message.emit(f"{what}. The details are in the log.")


class StatementSettingsDialog(QDialog):
    """The practice's statement details and the message shown for each account age."""

    saved = Signal(object)

    def __init__(self, settings: StatementSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Statement settings")
        self.setMinimumWidth(640)
        self._settings = settings
        form = QFormLayout()
        self.practice_name = QLineEdit(settings.practice_name)
        self.practice_address = QPlainTextEdit("\n".join(settings.practice_address))
        self.practice_phone = QLineEdit(settings.practice_phone)
        self.billing_phone = QLineEdit(settings.billing_phone)
        self.remit_to = QPlainTextEdit("\n".join(settings.remit_to))
        self.remit_to.setPlaceholderText("Name\nStreet or PO Box\nCity, ST ZIP")
        self.pay_url = QLineEdit(settings.pay_url)
        self.due_days = QSpinBox()
        self.due_days.setRange(0, 90)
        self.due_days.setValue(settings.due_days)
        self.due_days.setSuffix(" days after the statement date")
        for box in (self.practice_address, self.remit_to):
            box.setFixedHeight(70)
        form.addRow("Practice name", self.practice_name)
        form.addRow("Practice address", self.practice_address)
        form.addRow("Practice phone", self.practice_phone)
        form.addRow("Billing phone", self.billing_phone)
        form.addRow("Remit-to address", self.remit_to)
        form.addRow("Pay online at", self.pay_url)
        form.addRow("Payment due", self.due_days)
        messages = QGroupBox(
            "Messages by the oldest unpaid charge (placeholders: {practice}, {amount_due}, "
            "{due_date}, {billing_phone}, {credit}, {account})"
        )
        message_form = QFormLayout(messages)
        self.messages: dict[str, QPlainTextEdit] = {}
        for key in MESSAGE_KEYS:
            edit = QPlainTextEdit(settings.messages.get(key, ""))
            edit.setFixedHeight(54)
            self.messages[key] = edit
            message_form.addRow(MESSAGE_TITLES[key], edit)
        self.error = plain_label("", "formError")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(messages)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def save(self) -> None:
        def lines(edit: QPlainTextEdit) -> list[str]:
            return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]

        messages = {key: edit.toPlainText().strip() for key, edit in self.messages.items()}
        for key, text in messages.items():
            problem = check_template(text) if text else "A message is needed."
            if problem:
                self.error.setText(f"{MESSAGE_TITLES[key]}: {problem}")
                return
        remit = lines(self.remit_to)
        if len(remit) < 2:
            self.error.setText("The remit-to address needs at least a name and a street line.")
            return
        settings = StatementSettings(
            practice_name=self.practice_name.text().strip(),
            practice_address=lines(self.practice_address),
            practice_phone=self.practice_phone.text().strip(),
            billing_phone=self.billing_phone.text().strip(),
            remit_to=remit,
            pay_url=self.pay_url.text().strip(),
            due_days=self.due_days.value(),
            messages=messages,
        )
        self.saved.emit(settings)
        self.accept()
