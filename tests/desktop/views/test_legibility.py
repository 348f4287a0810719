"""Legibility: WCAG AA contrast of the stylesheet's states, Cancel/Reject not in the primary blue,
and patient text that cannot reorder the words around it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from importlib import resources

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QPushButton, QStyleOptionViewItem

from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.match_service import CandidateView, RecordSummary
from visitdesk.desktop.models.registrations import QueueRow
from visitdesk.desktop.views.registration_dialogs import ConfirmMatchDialog, RejectDialog
from visitdesk.desktop.views.rows import RowsModel
from visitdesk.desktop.views.tables import EMPTY_TEXT_COLOUR, rows_table
from visitdesk.matching.score import Band, Candidate, Evidence, Field, Level

PRIMARY = "#0f4c81"


def luminance(colour: str) -> float:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    first, second = sorted((luminance(a), luminance(b)), reverse=True)
    return (first + 0.05) / (second + 0.05)


def rules() -> dict[str, dict[str, str]]:
    """Selector -> properties of style.qss (comments dropped; grouped selectors split)."""
    text = resources.files("visitdesk.resources").joinpath("style.qss").read_text("utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    found: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", text):
        properties = {}
        for declaration in body.split(";"):
            if ":" in declaration:
                name, value = declaration.split(":", 1)
                properties[name.strip()] = value.strip()
        for selector in selectors.split(","):
            found.setdefault(selector.strip(), {}).update(properties)
    return found


def colour_of(value: str) -> str:
    match = re.search(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", value)
    if match:
        return match.group(0)
    return {"white": "#ffffff", "black": "#000000"}[value.split()[-1]]


WINDOW = "#f7f8fa"  # QMainWindow, QDialog background


def test_the_window_background_is_what_the_checks_assume() -> None:
    assert colour_of(rules()["QMainWindow"]["background"]) == WINDOW


@pytest.mark.parametrize(
    "selector",
    [
        "QPushButton:disabled",
        "QPushButton#secondary:disabled",
        "QDialogButtonBox QPushButton:disabled",
        "QPushButton#destructive:disabled",
    ],
)
def test_disabled_buttons_are_readable_and_outlined(selector: str) -> None:
    rule = rules()[selector]
    background = colour_of(rule["background"])
    assert contrast(colour_of(rule["color"]), background) >= 4.5
    # The control's edge against the window: 3:1 for user interface components.
    assert contrast(colour_of(rule["border"]), WINDOW) >= 3.0


@pytest.mark.parametrize(
    ("selector", "background"),
    [
        ("QPushButton", None),
        ("QPushButton#secondary", WINDOW),
        ("QPushButton#destructive", None),
        ("QDialogButtonBox QPushButton", WINDOW),
        ("QDialogButtonBox QPushButton:default", None),
    ],
)
def test_button_text_reaches_aa(selector: str, background: str | None) -> None:
    rule = rules()[selector]
    behind = background or colour_of(rule["background"])
    assert contrast(colour_of(rule["color"]), behind) >= 4.5
    if "border" in rule and rule["border"] != "none":
        assert contrast(colour_of(rule["border"]), WINDOW) >= 3.0


def test_every_label_colour_reaches_aa_on_the_window() -> None:
    labels = {s: r for s, r in rules().items() if s.startswith("QLabel") and "color" in r}
    assert "QLabel#emptyState" in labels
    for selector, rule in labels.items():
        behind = colour_of(rule["background"]) if "background" in rule else WINDOW
        assert contrast(colour_of(rule["color"]), behind) >= 4.5, selector


def test_the_empty_table_text_reaches_aa_on_the_table() -> None:
    table_background = colour_of(rules()["QTableView"]["background"])
    assert contrast(EMPTY_TEXT_COLOUR, table_background) >= 4.5


# --------------------------------------------------------------------------- in the app


@pytest.fixture
def styled(qapp):
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


def centre_colour(button: QPushButton) -> str:
    image = button.grab().toImage()
    return image.pixelColor(4, image.height() // 2).name()


def registration(first: str = "Eve", last: str = "Lee") -> QueueRow:
    return QueueRow(
        "r1", first, last, date(1980, 3, 1), "eve@example.org", "", "", datetime.now(UTC)
    )


def candidate_view(first: str = "Eve", last: str = "Lee") -> CandidateView:
    evidence = (
        Evidence(Field.LAST_NAME, Level.CLOSE, last, "Leigh", 2.0, "similar spelling"),
        Evidence(Field.DATE_OF_BIRTH, Level.EXACT, "1980-03-01", "1980-03-01", 5.0, "same"),
    )
    return CandidateView(
        Candidate("p1", 12.0, Band.POSSIBLE, evidence),
        RecordSummary("p1", "M100", first, "Leigh", date(1980, 3, 1)),
    )


def test_cancel_and_reject_are_not_primary(qtbot, styled) -> None:
    dialog = RejectDialog(registration())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    box = dialog.findChild(QDialogButtonBox)
    cancel = box.button(QDialogButtonBox.StandardButton.Cancel)
    assert centre_colour(cancel) != PRIMARY
    assert dialog.reject_button.objectName() == "destructive"
    assert centre_colour(dialog.reject_button) == "#ffffff"
    cancel.click()
    assert dialog.result() == 0


def test_confirm_match_isolates_a_name_that_carries_an_override(qtbot) -> None:
    hostile = registration(first="Eve\u202e", last="Lee")
    dialog = ConfirmMatchDialog(hostile, candidate_view(last="Lee\u202e"), [])
    qtbot.addWidget(dialog)
    summary = dialog.findChildren(type(dialog.doubts))[0].text()
    # No raw override: it is shown as [U+202E] inside an isolate, and the birth date after the
    # name is outside the isolate, so it reads 03/01/1980 whatever the name holds.
    assert "\u202e" not in summary
    assert "\u2068Eve[U+202E] Lee\u2069 (born 03/01/1980)" in summary
    assert "\u202e" not in dialog.doubts.text()
    assert "\u2068Lee[U+202E]\u2069 on the registration" in dialog.doubts.text()


class _Names(RowsModel[str]):
    columns = ("Patient", "Status")

    def cell(self, row: str, column: int, role: int):
        from PySide6.QtCore import Qt

        if role == Qt.ItemDataRole.DisplayRole:
            return row if column == 0 else "Arrived"
        return None


def test_table_cells_are_drawn_isolated_and_empty_tables_say_why(qtbot) -> None:
    model = _Names()
    table = rows_table(model, stretch=0, empty="No one has checked in yet today.")
    qtbot.addWidget(table)
    assert table.empty_text == "No one has checked in yet today."
    model.set_rows(["Eve\u202e Lee"])
    option = QStyleOptionViewItem()
    table.itemDelegate().initStyleOption(option, model.index(0, 0))
    assert option.text == "\u2068Eve[U+202E] Lee\u2069"
    assert model.index(0, 0).data() == "Eve\u202e Lee"  # the data itself is left as it is
