"""The myInfo screen against the real portal over TLS (pytest-qt, offscreen): the queue, the
field-by-field table, A / R / Accept all / Send decision, the card viewer, the export, who sees
the screen, and a 1280x800 screenshot without a horizontal scrollbar."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from tests.patient_api import own_myinfo_changes, submit_myinfo
from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.models import myinfo
from visitdesk.desktop.models.schema import Patient
from visitdesk.desktop.views.myinfo import MyInfoView
from visitdesk.portal.demo.card_image import card_png

SCREENSHOTS = os.environ.get("VISITDESK_SCREENSHOTS")
NEW_ADDRESS = "=1+2 Formula Road"


@pytest.fixture
def styled(qapp):
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


def _screen(desk) -> MyInfoView:
    view = desk.window.myinfo
    assert view is not None
    titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
    desk.window.sidebar.setCurrentRow(
        next(i for i, t in enumerate(titles) if t.startswith("myInfo"))
    )
    return view


def _click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_front_desk_and_managers_have_the_screen_billing_does_not(make_desk, practice) -> None:
    assert make_desk(practice, "billing", name="billing").window.myinfo is None
    manager = make_desk(practice, "manager", name="manager").window
    assert manager.myinfo is not None
    shortcuts = manager.show_shortcuts()
    assert "myInfo" in shortcuts.text() and "Accept the selected field" in shortcuts.text()
    shortcuts.close()


def test_review_a_change_field_by_field(
    make_desk, practice, qtbot, qtmodeltester, tmp_path: Path
) -> None:
    desk = make_desk(practice)
    view = _screen(desk)
    saved: list[Path] = []

    def choose(_parent, _title, name: str, _filter) -> Path:
        saved.append(tmp_path / name)
        return tmp_path / name

    view.choose_path = choose
    qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=10_000)
    assert view.empty.textFormat() == Qt.TextFormat.PlainText
    assert "No myInfo changes are waiting" in view.empty.text()

    # An export with nothing accepted writes no file.
    _click(qtbot, view.export_button)
    messages: list[str] = []
    view.message.connect(messages.append)
    _click(qtbot, view.export_button)
    qtbot.waitUntil(lambda: any("Nothing to export" in m for m in messages), timeout=10_000)
    assert saved == []

    change = submit_myinfo(
        practice, card=card_png(), address_line1=NEW_ADDRESS, phone="(413) 555-0123"
    )
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 1, timeout=10_000)
    qtmodeltester.check(view.queue_model)
    assert view.queue_model.rows[0].id == change["id"]
    qtbot.waitUntil(lambda: view.fields_model.rowCount() == 3, timeout=10_000)
    qtmodeltester.check(view.fields_model)
    assert "myInfo  (1)" in [
        desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())
    ]
    assert view.change_label.textFormat() == Qt.TextFormat.PlainText
    assert "Sent by" in view.change_label.text()
    labels = [view.fields_model.index(r, 0).data() for r in range(3)]
    assert labels == ["Address", "Phone", "Insurance card (front)"]
    assert view.fields_model.index(0, 2).data() == NEW_ADDRESS
    assert view.fields_model.index(0, 3).data() == "Not decided"
    assert not view.send_button.isEnabled()
    assert not view.view_card_button.isEnabled()  # the address is selected

    # A accepts the address and moves on; R rejects the phone.
    _click(qtbot, view.accept_button)
    assert view.fields_model.index(0, 3).data() == "Accept"
    assert view.selected_field() is not None and view.selected_field().field == "phone"
    _click(qtbot, view.reject_button)
    assert view.fields_model.index(1, 3).data() == "Reject"
    assert view.selected_field().field == "insurance_card_front"

    # The card picture opens inside the app.
    _click(qtbot, view.view_card_button)
    viewer = view.viewer
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.loaded, timeout=10_000)
    assert not viewer.picture.pixmap().isNull()
    if SCREENSHOTS:
        viewer.grab().save(str(Path(SCREENSHOTS) / "myinfo-card.png"))
    _click(qtbot, viewer.close_button)
    qtbot.waitUntil(lambda: view.viewer is None, timeout=5_000)

    # Accept all decides the rest (and overrides nothing it should not: all become Accept) ...
    _click(qtbot, view.accept_all_button)
    assert [view.fields_model.index(r, 3).data() for r in range(3)] == ["Accept"] * 3
    # ... and the phone is rejected again by keyboard.
    view.fields_table.selectRow(1)
    desk.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is desk.window)
    view.fields_table.setFocus()
    qtbot.waitUntil(view.fields_table.hasFocus)
    qtbot.keyClick(view.fields_table, Qt.Key.Key_R)
    assert view.fields_model.index(1, 3).data() == "Reject"
    _click(qtbot, view.send_button)
    qtbot.waitUntil(lambda: view.empty.isVisible(), timeout=10_000)

    def outcome() -> dict[str, str]:
        return {f["field"]: f["decision"] for f in own_myinfo_changes(practice)[0]["fields"]}

    qtbot.waitUntil(
        lambda: (
            outcome()
            == {
                "address_line1": "accepted",
                "phone": "rejected",
                "insurance_card_front": "accepted",
            }
        ),
        timeout=10_000,
    )
    patient_id = practice.patients[0].patient_ids[0]

    def local_address() -> str:
        with desk.store.read() as session:
            return str(
                session.scalar(select(Patient.address_line1).where(Patient.portal_id == patient_id))
            )

    qtbot.waitUntil(lambda: local_address() == NEW_ADDRESS, timeout=10_000)

    def confirmed() -> bool:
        with desk.store.read() as session:
            return bool(myinfo.unexported(session)[1])

    qtbot.waitUntil(confirmed, timeout=10_000)
    _click(qtbot, view.export_button)
    exported = tmp_path / "myinfo-accepted-changes.csv"
    qtbot.waitUntil(lambda: any("Saved 2 accepted" in m for m in messages), timeout=10_000)
    rows = list(csv.reader(io.StringIO(exported.read_text("utf-8-sig"))))
    assert [r[4] for r in rows[1:]] == ["Address", "Insurance card (front)"]
    assert rows[1][5] == "'" + NEW_ADDRESS  # a spreadsheet reads it as text, not a formula
    # Exported once: the next export has nothing new.
    messages.clear()
    _click(qtbot, view.export_button)
    qtbot.waitUntil(lambda: any("Nothing to export" in m for m in messages), timeout=10_000)


def test_screenshot_fits_1280_by_800(make_desk, practice, qtbot, styled) -> None:
    desk = make_desk(practice)
    view = _screen(desk)
    desk.window.resize(1280, 800)
    submit_myinfo(
        practice,
        card=card_png(),
        address_line1="1200 Commonwealth Avenue, Building C, Apartment 4417",
        city="Springfield",
        postal_code="01103",
        email="a.very.long.address.for.a.patient@example-health-partners.org",
        insurance_payer="Pioneer Valley Health Plan of Western Massachusetts",
        insurance_member_id="PVH4471209",
        insurance_relationship="self",
    )
    submit_myinfo(practice, 1, phone="(413) 555-0188")
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 2, timeout=10_000)
    qtbot.waitUntil(lambda: view.fields_model.rowCount() >= 1, timeout=10_000)
    view.queue_table.selectRow(0)
    qtbot.waitUntil(lambda: view.fields_model.rowCount() == 8, timeout=10_000)
    _click(qtbot, view.accept_button)
    assert desk.window.width() == 1280
    for table in (view.queue_table, view.fields_table):
        table.fit_columns()
        qtbot.waitUntil(lambda t=table: not t.horizontalScrollBar().isVisible(), timeout=5_000)
    if SCREENSHOTS:
        desk.window.grab().save(str(Path(SCREENSHOTS) / "myinfo.png"))
