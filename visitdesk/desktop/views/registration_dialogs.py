"""The Registrations screen's dialogs: confirm a match, reject with a reason, find a record.

Each opens window-modal without blocking (``open()``), works from the keyboard alone (Enter
accepts, Escape cancels) and shows patient text as plain text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.text import isolate
from visitdesk.api.wire_registration import REJECT_REASON_LABELS, REJECT_REASONS, rejection_text
from visitdesk.desktop.match_service import CandidateView
from visitdesk.desktop.models.patient_search import PatientHit
from visitdesk.desktop.models.registrations import QueueRow
from visitdesk.desktop.ops.codes import PatientOps
from visitdesk.desktop.views.patient_search import PatientSearchBox
from visitdesk.desktop.views.registrations_table import BAND_MEANINGS, disagreements


def _label(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class ConfirmMatchDialog(QDialog):
    """Shows what will be connected, and spells out everything that does not agree."""

    def __init__(
        self,
        registration: QueueRow,
        view: CandidateView,
        warnings: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Confirm the match")
        self.setMinimumWidth(520)
        record = view.record
        # Each piece of patient text is isolated: a right-to-left override in a name must not
        # reverse the date of birth after it ("0891/10/30 nrob").
        who = isolate(f"{registration.first_name} {registration.last_name}")
        summary = (
            f"Connect the portal account of {who} "
            f"(born {registration.date_of_birth:%m/%d/%Y}) to the patient record "
            f"{isolate(record.display_name)}, MRN {isolate(record.mrn)}, "
            f"born {record.date_of_birth:%m/%d/%Y}?\n\n"
            f"{BAND_MEANINGS[view.candidate.band]} The patient will be "
            "able to see this record's information in the portal."
        )
        layout = QVBoxLayout(self)
        layout.addWidget(_label(summary))
        doubts = disagreements(view)
        self.doubts = _label(
            "What does not agree:\n" + "\n".join(f"\u2022 {line}" for line in doubts)
            if doubts
            else "Every field given on the registration agrees with the record.",
            "confirmDoubts" if doubts else "",
        )
        layout.addWidget(self.doubts)
        if warnings:
            layout.addWidget(_label("\n".join(f"\u26a0 {w}" for w in warnings), "matchWarning"))
        self.note = QLineEdit()
        self.note.setPlaceholderText(
            "Note for the audit trail (optional), e.g. ID checked by phone"
        )
        self.note.setMaxLength(500)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox()
        self.confirm_button = buttons.addButton(
            "Connect account", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.confirm_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class RejectDialog(QDialog):
    """A reason from the templates (what the patient reads), plus optional words."""

    def __init__(self, registration: QueueRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Reject the registration")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.addWidget(
            _label(
                "Reject the registration of "
                f"{isolate(f'{registration.first_name} {registration.last_name}')}? "
                "Choose what the patient is told:"
            )
        )
        self.reasons = QListWidget()
        for code, label in REJECT_REASON_LABELS.items():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, code)
            self.reasons.addItem(item)
        self.reasons.setCurrentRow(0)
        self.reasons.setMaximumHeight(
            self.reasons.sizeHintForRow(0) * (self.reasons.count() + 1) + 8
        )
        self.reasons.currentRowChanged.connect(self._preview)
        layout.addWidget(self.reasons)
        self.extra = QLineEdit()
        self.extra.setPlaceholderText("Words to add for the patient (optional)")
        self.extra.setMaxLength(300)
        self.extra.textChanged.connect(self._preview)
        layout.addWidget(self.extra)
        layout.addWidget(_label("The patient will read:", "screenSubtitle"))
        self.preview = _label("", "rejectPreview")
        layout.addWidget(self.preview)
        buttons = QDialogButtonBox()
        self.reject_button = buttons.addButton(
            "Reject registration", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.reject_button.setDefault(True)
        self.reject_button.setObjectName("destructive")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.reasons.setFocus()
        self._preview()

    @property
    def reason_code(self) -> str:
        item = self.reasons.currentItem()
        code = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return code if code in REJECT_REASONS else next(iter(REJECT_REASONS))

    @property
    def text(self) -> str:
        return self.extra.text().strip()

    def _preview(self, *_: object) -> None:
        self.preview.setText(rejection_text(self.reason_code, self.text))


class FindRecordDialog(QDialog):
    """Search the local records when no candidate is right; Enter takes the selected one."""

    def __init__(self, patients: PatientOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find the patient record")
        self.resize(640, 420)
        self.search = PatientSearchBox(patients, self)
        self.problem = _label("", "formError")
        layout = QVBoxLayout(self)
        layout.addWidget(self.search, 1)
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox()
        self.use_button = buttons.addButton(
            "Compare with this record", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.use_button.setDefault(True)
        buttons.accepted.connect(self._use)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.search.field.setFocus()

    @property
    def chosen(self) -> PatientHit | None:
        return self.search.selected()

    def _use(self) -> None:
        hit = self.chosen
        if hit is None:
            self.problem.setText("Select a patient in the list first.")
        elif hit.portal_id is None:
            self.problem.setText(
                "This record is not on the portal yet (imported here, not synced). An account "
                "can be connected once it is."
            )
        else:
            self.accept()
