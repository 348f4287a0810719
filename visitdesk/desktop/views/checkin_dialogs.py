"""Dialogs of the check-in desk: check in a patient found by search (walk-ins and patients
without the app), and the practice's check-in rules (managers)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.models.patient_search import PatientHit
from visitdesk.desktop.ops.codes import PatientOps
from visitdesk.desktop.views.patient_search import PatientSearchBox


def _label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class WalkInDialog(QDialog):
    """Find a patient and check them in at the desk: tied to their appointment today if they
    have one, else a walk-in."""

    def __init__(self, patients: PatientOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Check in a patient")
        self.setMinimumSize(640, 420)
        self.search = PatientSearchBox(patients, self)
        self.search.patient_chosen.connect(self._chosen)
        self.note = _label(
            "The check-in is tied to the patient\u2019s appointment today if they have one; "
            "otherwise it is a walk-in."
        )
        self.check_in_button = QPushButton("Check in")
        self.check_in_button.setDefault(True)
        self.check_in_button.setEnabled(False)
        self.check_in_button.clicked.connect(self.accept)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QDialogButtonBox()
        buttons.addButton(self.check_in_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search, 1)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.search.field.setFocus()

    @property
    def patient(self) -> PatientHit | None:
        return self.search.selected()

    def _chosen(self, hit: PatientHit | None) -> None:
        synced = hit is not None and hit.portal_id is not None
        self.check_in_button.setEnabled(synced)
        if hit is not None and hit.portal_id is None:
            self.note.setText(
                "This patient is not on the portal yet (imported here, not synced): they can be "
                "checked in once the portal has the record."
            )
        elif hit is not None:
            self.note.setText(
                f"Check in {hit.display_name}, born {hit.date_of_birth:%m/%d/%Y}: tied to their "
                "appointment today if they have one; otherwise a walk-in."
            )

    def accept(self) -> None:
        if self.patient is None or self.patient.portal_id is None:
            return
        super().accept()


class CheckInRulesDialog(QDialog):
    """A manager's check-in rules for the practice; every desk receives them."""

    def __init__(self, settings: CheckInSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Check-in rules")
        self.setMinimumWidth(520)
        self.opens = self._minutes(settings.opens_minutes_before, 0, 240)
        self.closes = self._minutes(settings.closes_minutes_after, 0, 240)
        self.grace = self._minutes(settings.no_show_grace_minutes, 5, 240)
        self.warning = self._minutes(settings.wait_warning_minutes, 1, 240)
        self.alert = self._minutes(settings.wait_alert_minutes, 2, 480)
        form = QFormLayout()
        form.addRow(_label("I\u2019m Here opens before the appointment"), self.opens)
        form.addRow(_label("I\u2019m Here closes after the start"), self.closes)
        form.addRow(_label("No-show may be marked after the start"), self.grace)
        form.addRow(_label("A wait shows amber after"), self.warning)
        form.addRow(_label("A wait shows red after"), self.alert)
        self.problem = _label("")
        self.problem.setObjectName("formError")
        self.save_button = QPushButton("Save for the practice")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.accept)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QDialogButtonBox()
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(
            _label(
                "Outside the arrival window the app tells the patient to see the front desk, "
                "and the board shows the attempt."
            )
        )
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        for box in (self.warning, self.alert):
            box.valueChanged.connect(self._check)
        self._check()

    @staticmethod
    def _minutes(value: int, low: int, high: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setSuffix(" min")
        box.setValue(value)
        return box

    def settings(self) -> CheckInSettings:
        return CheckInSettings(
            opens_minutes_before=self.opens.value(),
            closes_minutes_after=self.closes.value(),
            no_show_grace_minutes=self.grace.value(),
            wait_warning_minutes=self.warning.value(),
            wait_alert_minutes=self.alert.value(),
        )

    def _check(self, *_: object) -> None:
        ok = self.alert.value() > self.warning.value()
        self.problem.setText("" if ok else "The red threshold must be longer than the amber one.")
        self.save_button.setEnabled(ok)
