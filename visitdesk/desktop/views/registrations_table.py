"""Item models of the Registrations screen: the queue, the ranked candidates, and the field-by-field
comparison of the registration with the selected candidate."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from visitdesk.api.text import isolate
from visitdesk.desktop.match_service import CandidateView
from visitdesk.desktop.models.registrations import QueueRow
from visitdesk.desktop.views.rows import RowsModel
from visitdesk.matching import Band, Evidence, Field, Level

BAND_LABELS = {Band.STRONG: "Strong", Band.POSSIBLE: "Possible", Band.WEAK: "Weak"}
#: What each band means to the person deciding; the desk shows these words, never raw scores.
BAND_MEANINGS = {
    Band.STRONG: "Strong match: the details on the registration agree with this record.",
    Band.POSSIBLE: "Possible match: check the details that differ before connecting.",
    Band.WEAK: (
        "Weak match: most details differ. Connect only after confirming who the patient is."
    ),
}
#: Bands good enough for the desk to select the candidate before anyone chooses it.
PRESELECTED_BANDS = frozenset({Band.STRONG, Band.POSSIBLE})
_BAND_COLOURS = {
    Band.STRONG: QColor("#dcfce7"),
    Band.POSSIBLE: QColor("#fef9c3"),
    Band.WEAK: QColor("#fee2e2"),
}
FIELD_LABELS = {
    Field.FIRST_NAME: "First name",
    Field.LAST_NAME: "Last name",
    Field.MIDDLE_NAME: "Middle name",
    Field.DATE_OF_BIRTH: "Date of birth",
    Field.SEX: "Sex",
    Field.PHONE: "Phone",
    Field.EMAIL: "Email",
    Field.POSTAL_CODE: "ZIP code",
}
LEVEL_LABELS = {
    Level.EXACT: "Agrees",
    Level.CLOSE: "Close",
    Level.NICKNAME: "Nickname",
    Level.TRANSPOSED: "Swapped",
    Level.PARTIAL: "Partly agrees",
    Level.DISAGREE: "Disagrees",
    Level.MISSING: "Not compared",
}
LEVEL_COLOURS = {
    Level.EXACT: QColor("#dcfce7"),
    Level.CLOSE: QColor("#fef9c3"),
    Level.NICKNAME: QColor("#fef9c3"),
    Level.TRANSPOSED: QColor("#fde8c8"),
    Level.PARTIAL: QColor("#fef9c3"),
    Level.DISAGREE: QColor("#fee2e2"),
    Level.MISSING: QColor("#f3f4f6"),
}
#: Levels that count as a disagreement the confirmation must spell out.
DOUBTFUL = frozenset({Level.DISAGREE, Level.TRANSPOSED, Level.CLOSE, Level.PARTIAL})


def waited(created_at: datetime, now: datetime) -> str:
    minutes = max(0, int((now - created_at).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def _shown(evidence: Evidence, value: str) -> str:
    if not value:
        return "\u2014"
    if evidence.field is Field.DATE_OF_BIRTH:
        try:
            return f"{date.fromisoformat(value):%m/%d/%Y}"
        except ValueError:
            return value
    return value


class _Table(RowsModel[Any]):
    def cell(self, row: Any, column: int, role: int) -> Any:
        return self._data(row, column, role)

    def _data(self, row: Any, column: int, role: int) -> Any:
        raise NotImplementedError


class QueueModel(_Table):
    """Pending registrations, oldest first (the order the store returns)."""

    columns = ("Name", "Date of birth", "Waiting")

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def _data(self, row: QueueRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.display_name
            if column == 1:
                return f"{row.date_of_birth:%m/%d/%Y}"
            return waited(row.created_at, datetime.now(UTC))
        if role == Qt.ItemDataRole.ToolTipRole:
            received = row.created_at.astimezone(self._zone)
            text = f"Received {received:%m/%d/%Y %I:%M %p}"
            if row.decision_refused:
                text += ". The portal did not accept the decision made here; decide again."
            return text
        if role == Qt.ItemDataRole.ForegroundRole and row.decision_refused:
            return QBrush(QColor("#b91c1c"))
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None


class CandidatesModel(_Table):
    """The ranked candidate records (and one found by searching), best first."""

    columns = ("Match", "Patient", "Date of birth", "MRN")

    def index_of(self, portal_id: str) -> int:
        for number, view in enumerate(self._rows):
            if view.record.portal_id == portal_id:
                return number
        return -1

    def _data(self, view: CandidateView, column: int, role: int) -> Any:
        candidate = view.candidate
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                label = BAND_LABELS[candidate.band]
                return f"{label} (found by search)" if view.searched else label
            if column == 1:
                return view.record.display_name
            if column == 2:
                return f"{view.record.date_of_birth:%m/%d/%Y}"
            return view.record.mrn
        if role == Qt.ItemDataRole.BackgroundRole and column == 0:
            return QBrush(_BAND_COLOURS[candidate.band])
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return BAND_MEANINGS[candidate.band]
        if role == Qt.ItemDataRole.ToolTipRole and column == 1 and candidate.namesakes:
            return "Another record has the same name and date of birth: check which one it is."
        if role == Qt.ItemDataRole.UserRole:
            return view.record.portal_id
        return None


class ComparisonModel(_Table):
    """Each compared field: registration value, record value, agreement and the reason in words."""

    columns = ("Field", "Registration", "Record", "Agreement")

    def _data(self, evidence: Evidence, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return FIELD_LABELS[evidence.field]
            if column == 1:
                return _shown(evidence, evidence.registration_value)
            if column == 2:
                return _shown(evidence, evidence.record_value)
            return evidence.reason[:1].upper() + evidence.reason[1:]
        if role == Qt.ItemDataRole.BackgroundRole and column in (1, 2, 3):
            return QBrush(LEVEL_COLOURS[evidence.level])
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            level = LEVEL_LABELS[evidence.level]
            return f"{evidence.reason} ({level}, weight {evidence.weight:+.1f})"
        if role == Qt.ItemDataRole.ToolTipRole and column in (1, 2):
            return _shown(
                evidence, evidence.registration_value if column == 1 else evidence.record_value
            )
        if role == Qt.ItemDataRole.UserRole:
            return str(evidence.level)
        return None


def disagreements(view: CandidateView) -> list[str]:
    """The fields that do not plainly agree, as lines for the confirmation."""
    return [
        f"{FIELD_LABELS[e.field]}: {isolate(_shown(e, e.registration_value))} on the "
        f"registration, {isolate(_shown(e, e.record_value))} on the record \u2014 {e.reason}"
        for e in view.candidate.evidence
        if e.level in DOUBTFUL
    ]
