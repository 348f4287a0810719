"""The Security Codes screen: find a patient, issue a code, hand it over once; list, revoke, reissue.

The full code arrives from the portal once and lives only in this screen's memory while the code
panel is open (and in the slip PDF rendered from it, also in memory, saved only where the user
chooses). "Done" forgets it. It is never written to the local database, never logged, and never
put on the clipboard: a code is printed or read aloud.
"""

from __future__ import annotations

import logging
import uuid
from datetime import tzinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.text import isolate
from visitdesk.api.wire_registration import (
    MAX_CODE_DAYS,
    SecurityCodeCreate,
    SecurityCodeIssued,
)
from visitdesk.desktop.models.codes import SecurityCodeRow
from visitdesk.desktop.models.patient_search import PatientHit
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.printing import PdfPrintJob, choose_pdf_path
from visitdesk.desktop.tasks import Op
from visitdesk.desktop.views.patient_search import PatientSearchBox
from visitdesk.desktop.views.reload import Reload
from visitdesk.desktop.views.security_codes_table import (
    RELATIONSHIP_LABELS,
    STATUS_LABELS,
    SecurityCodesModel,
    format_moment,
    purpose_label,
)
from visitdesk.desktop.views.tables import rows_table
from visitdesk.reports.code_slip import CodeSlip
from visitdesk.sync.errors import PortalError, PortalOffline

log = logging.getLogger(__name__)

OFFLINE_MESSAGE = (
    "Issuing a code needs the portal, which cannot be reached right now. No code was handed "
    "out. Try again when the connection is back (the status bar shows when it is)."
)


def plain(text: str = "", object_name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if object_name:
        label.setObjectName(object_name)
    return label


def _problem(action: str, error: BaseException) -> str:
    if isinstance(error, PortalOffline):
        return (
            f"{action} needs the portal, which cannot be reached right now. "
            "Try again when the connection is back."
        )
    if isinstance(error, PortalError):
        return error.user_message
    return f"{action} failed on this workstation. Try again."


class CodePanel(QFrame):
    """Shows one freshly issued code, once, with the slip's print and save buttons."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codePanel")
        self.heading = plain("", "codeHeading")
        self.heading.setWordWrap(True)
        self.code_label = plain("", "codeValue")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(30)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 3)
        self.code_label.setFont(font)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.code_label.setAccessibleName("Security code")
        self.details = plain("", "codeDetails")
        self.details.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details.setWordWrap(True)
        self.notice = plain(
            "Shown only this once: VisitDesk does not keep the code. Print the slip or read the "
            "code to the patient now.",
            "codeNotice",
        )
        self.notice.setWordWrap(True)
        self.status = plain("", "screenSubtitle")
        self.status.setWordWrap(True)
        self.print_button = QPushButton("&Print slip\u2026")
        self.save_button = QPushButton("&Save slip as PDF\u2026")
        self.save_button.setObjectName("secondary")
        self.done_button = QPushButton("&Done")
        self.done_button.setObjectName("secondary")
        self.done_button.clicked.connect(self.dismissed.emit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addStretch(1)
        layout.addWidget(self.code_label)
        layout.addWidget(self.details)
        layout.addStretch(1)
        layout.addWidget(self.notice)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def show_code(self, heading: str, code: str, details: str) -> None:
        self.heading.setText(heading)
        self.code_label.setText(code)
        self.details.setText(details)
        self.status.setText("Preparing the slip\u2026")
        self.print_button.setEnabled(False)
        self.save_button.setEnabled(False)

    def clear(self) -> None:
        for label in (self.heading, self.code_label, self.details, self.status):
            label.clear()


class SecurityCodesView(QWidget):
    """Issue security codes and keep track of them (front desk and office managers)."""

    title = "Security codes"
    message = Signal(str)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self._zone: tzinfo = ops.session.zone
        self._patient: PatientHit | None = None
        self._issue_key: str | None = None
        self._issue_request: SecurityCodeCreate | None = None
        self._busy = False
        self._reload = Reload(self, self._load_rows, self._show_rows, self._load_failed)
        # The one copy of a fresh code, and its slip; both dropped by `dismiss_code`.
        self._issued: SecurityCodeIssued | None = None
        self.slip_pdf: bytes | None = None
        self._slip_handled = False
        self.print_job: PdfPrintJob | None = None
        self.confirm_box: QMessageBox | None = None

        heading = plain("Security codes", "screenTitle")
        subtitle = plain(
            "Codes let patients create a portal account or link a family member.", "screenSubtitle"
        )
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(subtitle)
        top.addStretch(1)

        # ---- find the patient
        self.search = PatientSearchBox(ops.patients)
        self.search.patient_chosen.connect(self._patient_chosen)
        find_box = QGroupBox("1. Find the patient")
        find_layout = QVBoxLayout(find_box)
        find_layout.addWidget(self.search)

        # ---- issue
        self.patient_label = plain("Choose a patient on the left.", "chosenPatient")
        self.patient_label.setWordWrap(True)
        self.register_radio = QRadioButton("Create a new portal account (register)")
        self.link_radio = QRadioButton("Link to a family member's existing account")
        self.register_radio.setChecked(True)
        self._purpose = QButtonGroup(self)
        self._purpose.addButton(self.register_radio)
        self._purpose.addButton(self.link_radio)
        self.register_radio.toggled.connect(self._update_form)
        self.relationship = QComboBox()
        for value in ("child", "spouse", "parent", "dependent", "other"):
            self.relationship.addItem(RELATIONSHIP_LABELS[value], value)
        self.relationship.setAccessibleName("Relationship to the account holder")
        self.account_login = QLineEdit()
        self.account_login.setPlaceholderText("Email or username (optional)")
        self.account_login.setMaxLength(254)
        self.account_login.setToolTip(
            "Only this account may use the code. Leave empty to let the person you hand it to "
            "use it from their own account."
        )
        self.expiry = QSpinBox()
        self.expiry.setRange(0, MAX_CODE_DAYS)
        self.expiry.setSpecialValueText("Practice default")
        self.expiry.setSuffix(" days")
        self.expiry.setAccessibleName("Days the code stays valid")
        self.issue_button = QPushButton("&Issue code")
        self.issue_button.clicked.connect(self.issue)
        self.issue_error = plain("", "formError")
        self.issue_error.setWordWrap(True)
        form = QFormLayout()
        # Row labels made here: QFormLayout's own would guess rich text (see plain()).
        form.addRow(plain("Purpose"), self.register_radio)
        form.addRow(plain(""), self.link_radio)
        form.addRow(plain("Relationship"), self.relationship)
        form.addRow(plain("Account"), self.account_login)
        form.addRow(plain("Valid for"), self.expiry)
        form_page = QWidget()
        form_layout = QVBoxLayout(form_page)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(self.patient_label)
        form_layout.addLayout(form)
        form_layout.addStretch(1)
        form_layout.addWidget(self.issue_error)
        issue_row = QHBoxLayout()
        issue_row.addStretch(1)
        issue_row.addWidget(self.issue_button)
        form_layout.addLayout(issue_row)

        self.code_panel = CodePanel()
        self.code_panel.dismissed.connect(self.request_dismiss)
        self.code_panel.print_button.clicked.connect(self.print_slip)
        self.code_panel.save_button.clicked.connect(self._choose_save)
        self.issue_stack = QStackedWidget()
        self.issue_stack.addWidget(form_page)
        self.issue_stack.addWidget(self.code_panel)
        self.issue_box = QGroupBox("2. Issue a code")
        issue_box_layout = QVBoxLayout(self.issue_box)
        issue_box_layout.addWidget(self.issue_stack)

        upper = QWidget()
        upper_layout = QHBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(find_box, 3)
        upper_layout.addWidget(self.issue_box, 2)

        # ---- issued codes
        self.model = SecurityCodesModel(self._zone, self)
        self.status_filter = QComboBox()
        self.status_filter.addItem("All statuses", None)
        for value, label in STATUS_LABELS.items():
            self.status_filter.addItem(label, value)
        self.status_filter.setAccessibleName("Show codes with status")
        self.status_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.only_patient = QCheckBox("Only the chosen patient")
        self.only_patient.setEnabled(False)
        self.only_patient.toggled.connect(lambda _on: self.reload())
        self.summary = plain("", "screenSummary")
        list_top = QHBoxLayout()
        list_top.addWidget(plain("Issued codes", "sectionTitle"))
        list_top.addStretch(1)
        list_top.addWidget(self.summary)
        list_top.addWidget(self.only_patient)
        list_top.addWidget(self.status_filter)
        self.table = rows_table(
            self.model,
            stretch=2,
            keep=(2,),
            empty="No security codes to show: none issued yet, or none with this status.",
        )
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.revoke_button = QPushButton("&Revoke\u2026")
        self.revoke_button.setObjectName("secondary")
        self.revoke_button.setToolTip("Stop this code from working")
        self.revoke_button.clicked.connect(self.confirm_revoke)
        self.reissue_button = QPushButton("Reiss&ue\u2026")
        self.reissue_button.setToolTip("Revoke this code and issue a new one for the same patient")
        self.reissue_button.clicked.connect(self.confirm_reissue)
        list_buttons = QHBoxLayout()
        list_buttons.addStretch(1)
        list_buttons.addWidget(self.revoke_button)
        list_buttons.addWidget(self.reissue_button)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addLayout(list_top)
        lower_layout.addWidget(self.table, 1)
        lower_layout.addLayout(list_buttons)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.activated.connect(self.focus_search)
        self.setFocusProxy(self.search.field)
        self._update_form()
        self._update_buttons()
        self.reload()

    # ---- the patient and the form

    def focus_search(self) -> None:
        self.search.field.setFocus()
        self.search.field.selectAll()

    def _patient_chosen(self, patient: PatientHit | None) -> None:
        self._patient = patient
        if patient is None:
            self.patient_label.setText("Choose a patient on the left.")
        else:
            text = (
                f"{isolate(patient.display_name)}\n"
                f"Born {patient.date_of_birth:%m/%d/%Y} \u00b7 MRN {isolate(patient.mrn)}"
            )
            if patient.portal_id is None:
                text += (
                    "\nNot yet on the portal: this patient was imported here and has not been "
                    "synced. Codes can be issued once the sync has finished."
                )
            self.patient_label.setText(text)
        self.only_patient.setEnabled(patient is not None and patient.portal_id is not None)
        if self.only_patient.isChecked():
            self.reload()
        self.issue_error.clear()
        self._update_form()

    def _update_form(self, *_: Any) -> None:
        link = self.link_radio.isChecked()
        self.relationship.setEnabled(link)
        self.account_login.setEnabled(link)
        ready = self._patient is not None and self._patient.portal_id is not None and not self._busy
        self.issue_button.setEnabled(ready)

    def build_request(self) -> SecurityCodeCreate | None:
        patient = self._patient
        if patient is None or patient.portal_id is None:
            return None
        link = self.link_radio.isChecked()
        login = self.account_login.text().strip()
        days = self.expiry.value()
        return SecurityCodeCreate(
            patient_id=patient.portal_id,
            purpose="link" if link else "register",
            relationship=self.relationship.currentData() if link else "self",
            account_login=(login or None) if link else None,
            expires_in_days=days or None,
        )

    # ---- issuing

    def issue(self) -> None:
        if self._busy:
            return
        try:
            request = self.build_request()
        except ValueError as error:
            self.issue_error.setText(f"Check the form: {error}")
            return
        patient = self._patient
        if request is None or patient is None:
            return
        # The same request again (after a failure) keeps its idempotency key, so a code the
        # portal issued but whose answer was lost is not issued twice.
        if request != self._issue_request or self._issue_key is None:
            self._issue_key = str(uuid.uuid4())
            self._issue_request = request
        self._set_busy(True, "Asking the portal for a code\u2026")
        (
            self._ops.codes.issue(request, self._issue_key)
            .owned_by(self)
            .success(lambda issued: self._issued_ok(issued, patient, request.account_login))
            .failure(self._issue_failed)
            .run()
        )

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.issue_error.setText(text)
        self.issue_error.setObjectName("screenSubtitle" if busy else "formError")
        self.issue_error.style().unpolish(self.issue_error)
        self.issue_error.style().polish(self.issue_error)
        self._update_form()
        self._update_buttons()

    def _issued_ok(
        self, issued: SecurityCodeIssued, patient: PatientHit, login: str | None
    ) -> None:
        self._issue_key = None
        self._issue_request = None
        self._set_busy(False)
        self.show_code(issued, patient.first_name, patient.last_name, login)
        self.reload()

    def _issue_failed(self, error: BaseException) -> None:
        log.info("Issuing a security code failed: %s", type(error).__name__)
        self._set_busy(False)
        message = (
            OFFLINE_MESSAGE if isinstance(error, PortalOffline) else _problem("Issuing", error)
        )
        self.issue_error.setText(message)

    # ---- the code panel

    @property
    def shown_code(self) -> str:
        return self.code_panel.code_label.text()

    def show_code(
        self, issued: SecurityCodeIssued, first: str, last: str, login: str | None = None
    ) -> None:
        code = issued.security_code
        self._issued = issued
        self.slip_pdf = None
        self._slip_handled = False
        purpose = purpose_label(code.purpose, code.relationship)
        self.code_panel.show_code(
            f"Security code for {isolate(f'{first} {last}')}",
            issued.code,
            f"{purpose} \u00b7 valid until {format_moment(code.expires_at, self._zone)}",
        )
        self.issue_stack.setCurrentWidget(self.code_panel)
        self.issue_box.setTitle("2. Hand the code to the patient")
        self.code_panel.print_button.setFocus()
        slip = CodeSlip(
            practice_name=self._ops.session.practice.name,
            practice_phone=self._ops.session.practice.phone,
            patient_first_name=first,
            patient_last_name=last,
            code=issued.code,
            purpose=code.purpose,
            issued_at=code.issued_at,
            expires_at=code.expires_at,
            zone=self._zone,
            relationship=code.relationship,
            account_login=login,
            practice_code=self._ops.session.practice.code,
        )
        (
            self._ops.codes.code_slip(slip)
            .owned_by(self)
            .success(lambda pdf: self._slip_ready(issued, pdf))
            .failure(self._slip_failed)
            .run()
        )

    def _slip_ready(self, issued: SecurityCodeIssued, pdf: bytes) -> None:
        if self._issued is not issued:
            return  # dismissed (or replaced) meanwhile
        self.slip_pdf = pdf
        self.code_panel.status.setText("")
        self.code_panel.print_button.setEnabled(True)
        self.code_panel.save_button.setEnabled(True)

    def _slip_failed(self, error: BaseException) -> None:
        log.error("Rendering a code slip failed: %s", type(error).__name__)
        self.code_panel.status.setText(
            "The slip could not be prepared. Read the code to the patient instead."
        )

    def print_slip(self) -> None:
        if self.slip_pdf is None:
            return
        self.print_job = PdfPrintJob(
            self._ops.tasks, self.slip_pdf, "Code slip", self, self._print_finished
        )
        self.print_job.start()

    def _print_finished(self, message: str) -> None:
        self.print_job = None
        if "sent to the printer" in message:
            self._slip_handled = True
        self.code_panel.status.setText(message)

    def _choose_save(self) -> None:
        if self.slip_pdf is None:
            return
        path = choose_pdf_path(self, "security-code-slip.pdf")
        if path is not None:
            self.save_slip_to(path)

    def save_slip_to(self, path: Path) -> None:
        if self.slip_pdf is None:
            return
        (
            self._ops.save_file(path, self.slip_pdf)
            .owned_by(self)
            .success(lambda _n: self._saved(path))
            .failure(lambda _e: self.code_panel.status.setText(f"Could not save to {path}."))
            .run()
        )

    def _saved(self, path: Path) -> None:
        self._slip_handled = True
        self.code_panel.status.setText(f"Slip saved to {path}.")

    def request_dismiss(self) -> None:
        """Done: forget the code, asking first if the slip was neither printed nor saved."""
        if self._slip_handled:
            self.dismiss_code()
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Close the code?",
            "The slip was not printed or saved. Once closed, the code cannot be shown again "
            "(you could reissue it). Close it anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.accepted.connect(self.dismiss_code)
        box.finished.connect(lambda _r: setattr(self, "confirm_box", None))
        self.confirm_box = box
        box.open()

    def dismiss_code(self) -> None:
        self._issued = None
        self.slip_pdf = None
        self._slip_handled = False
        self.code_panel.clear()
        self.issue_stack.setCurrentIndex(0)
        self.issue_box.setTitle("2. Issue a code")
        self.search.field.setFocus()

    # ---- the list

    def on_sync_changed(self, kinds: set[str]) -> None:
        if kinds & {"security_code", "patient"}:
            self.reload()

    def reload(self) -> None:
        self._reload.request()

    def _load_rows(self) -> Op[list[SecurityCodeRow]]:
        status = self.status_filter.currentData()
        patient = self._patient
        only = self.only_patient.isChecked() and patient is not None and patient.portal_id
        return self._ops.codes.load(status, patient.portal_id if only else None)  # type: ignore[union-attr]

    def _show_rows(self, rows: list[SecurityCodeRow]) -> None:
        selected = self.selected_code()
        self.model.set_rows(rows)
        if selected is not None:
            self.select_code(selected.id)
        count = len(rows)
        self.summary.setText(f"{count} code{'s' if count != 1 else ''}")
        self._update_buttons()

    def _load_failed(self, error: BaseException) -> None:
        log.error("Loading security codes failed: %s", type(error).__name__)
        self.message.emit("The list of security codes could not be loaded from the local database.")

    def selected_code(self) -> SecurityCodeRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select_code(self, code_id: str) -> None:
        number = self.model.row_of(code_id)
        if number < 0:
            return
        self.table.selectionModel().select(
            self.model.index(number, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def _update_buttons(self, *_: Any) -> None:
        row = self.selected_code()
        self.revoke_button.setEnabled(row is not None and row.can_revoke and not self._busy)
        self.reissue_button.setEnabled(row is not None and row.status != "used" and not self._busy)

    # ---- revoke and reissue

    def _confirm(self, title: str, text: str, then: Any) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.accepted.connect(then)
        box.finished.connect(lambda _r: setattr(self, "confirm_box", None))
        self.confirm_box = box
        box.open()
        return box

    def confirm_revoke(self) -> None:
        row = self.selected_code()
        if row is None or not row.can_revoke:
            return
        if row.status == "used":
            # Used already: revoking cannot undo the link, but it records that the code reached
            # the wrong person and puts the link in front of a manager.
            text = (
                f"Code {row.hint} for {isolate(row.patient_name)} was already used on "
                f"{format_moment(row.used_at, self._zone)}. Revoke it anyway?\n\n"
                "The portal account it linked keeps access until a manager revokes that link "
                "on the Linked accounts screen. Revoking the code flags the link there for "
                "review (Needs review)."
            )
        else:
            text = (
                f"Revoke code {row.hint} for {isolate(row.patient_name)}? It stops working at once."
            )
        self._confirm("Revoke code", text, lambda: self.revoke(row.id, used=row.status == "used"))

    def revoke(self, code_id: str, *, used: bool = False) -> None:
        self._set_busy(True, "")
        (
            self._ops.codes.revoke(code_id, str(uuid.uuid4()))
            .owned_by(self)
            .success(lambda _out: self._revoked(used))
            .failure(lambda error: self._action_failed("Revoking a code", error))
            .run()
        )

    def _revoked(self, used: bool) -> None:
        self._set_busy(False)
        self.message.emit(
            "Code revoked; the link it made is now in Linked accounts \u25b8 Needs review."
            if used
            else "The code was revoked."
        )
        self.reload()

    def confirm_reissue(self) -> None:
        row = self.selected_code()
        if row is None or row.status == "used":
            return
        if self._issued is not None:
            self.message.emit("Close the code on screen (Done) before reissuing another.")
            return
        revoke_note = " The current code stops working." if row.status == "active" else ""
        self._confirm(
            "Reissue code",
            f"Issue a new code for {isolate(row.patient_name)}?{revoke_note}",
            lambda: self.reissue(row),
        )

    def reissue(self, row: SecurityCodeRow) -> None:
        self._set_busy(True, "")
        first, last = row.first_name or "", row.last_name or ""
        (
            self._ops.codes.reissue(row.id, str(uuid.uuid4()))
            .owned_by(self)
            .success(lambda issued: self._reissued(issued, first, last))
            .failure(lambda error: self._action_failed("Reissuing a code", error))
            .run()
        )

    def _reissued(self, issued: SecurityCodeIssued, first: str, last: str) -> None:
        self._set_busy(False)
        self.show_code(issued, first, last)
        self.reload()

    def _action_failed(self, action: str, error: BaseException) -> None:
        log.info("%s failed: %s", action, type(error).__name__)
        self._set_busy(False)
        self.message.emit(_problem(action, error))
        self.reload()
