"""The Messages screen against the real portal over loopback TLS (pytest-qt, offscreen).

A patient writes through the patient API; the desk is a real workstation (store, sync engine,
main window). Every button of the screen is clicked here, and the keyboard flow is driven with
key presses: pool, thread, Ctrl+Enter, T, X, Ctrl+F.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from reportlab.pdfgen import canvas

from tests.fixtures_portal import PortalPractice, http_session
from tests.patient_api import patient_check_in
from tests.portal.helpers import patient_headers, staff_headers
from tests.portal.messages_api import start_thread
from visitdesk.api.wire_messages import ThreadStatus, Topic
from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.models.messages import Pool, ThreadRow
from visitdesk.desktop.notifier import NOTICE_TEXT
from visitdesk.desktop.views.attachment_viewer import AttachmentViewer
from visitdesk.desktop.views.messages import MessagesView, pool_of
from visitdesk.desktop.views.messages_table import (
    PATIENT_COLUMN,
    PREVIEW_COLUMN,
    ThreadsModel,
    body_text,
)
from visitdesk.desktop.views.thread_view import MessageBubble

WAIT = 10_000


def _pdf() -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Insurance card, front")
    page.showPage()
    page.drawString(72, 720, "Insurance card, back")
    page.save()
    return buffer.getvalue()


def _png() -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("#336699"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


class Patient:
    """One patient account on the patient API."""

    def __init__(self, practice: PortalPractice, index: int = 0) -> None:
        self.practice = practice
        self.http: requests.Session = http_session(practice.ca_file)
        self.headers = patient_headers(self.http, practice, index)
        self.patient_id = practice.patients[index].patient_ids[0]

    def write(self, body: str, topic: str = "appointment") -> dict[str, Any]:
        return start_thread(self.http, self.practice, self.headers, self.patient_id, body, topic)

    def attach(self, thread_id: str, content: bytes, filename: str) -> str:
        response = self.http.post(
            f"{self.practice.patient_url}/threads/{thread_id}/attachments",
            params={"filename": filename},
            data=content,
            headers={**self.headers, "Content-Type": "application/octet-stream"},
            timeout=20,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def reply(self, thread_id: str, body: str, attachment_ids: list[str]) -> None:
        response = self.http.post(
            f"{self.practice.patient_url}/threads/{thread_id}/messages",
            json={"body": body, "attachment_ids": attachment_ids},
            headers=self.headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text

    def thread(self, thread_id: str) -> dict[str, Any]:
        response = self.http.get(
            f"{self.practice.patient_url}/threads/{thread_id}", headers=self.headers, timeout=10
        )
        return dict(response.json())


def _screen(desk) -> MessagesView:
    view = desk.window.messages
    assert view is not None
    titles = [
        desk.window.sidebar.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(desk.window.sidebar.count())
    ]
    desk.window.sidebar.setCurrentRow(titles.index("Messages"))
    return view


def _pool_text(view: MessagesView, pool: Pool) -> str:
    for row in range(view.pools.count()):
        item = view.pools.item(row)
        if pool_of(item) == pool:
            return item.text()
    raise AssertionError(pool)


def _focus(qtbot, widget) -> None:
    """Shortcuts act only on the widget that has the keyboard focus."""
    widget.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def _rows(view: MessagesView) -> list[ThreadRow]:
    return list(view.model.rows)


@pytest.fixture
def styled() -> Iterator[None]:
    """The application's own stylesheet (its padding and fonts decide what fits)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(load_stylesheet())
    yield
    app.setStyleSheet("")


def test_thread_model_passes_qt_model_tester(qtmodeltester):
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    model = ThreadsModel(now=lambda: now)
    model.set_rows(
        [
            ThreadRow(
                id=f"t{i}",
                patient_id="p",
                patient_name="Rivera, Ana" if i else None,
                topic=Topic.BILLING,
                status=ThreadStatus.OPEN,
                preview="Line one\n\u202eevil  <b>x</b>",
                last_message_at=now - timedelta(minutes=7 * i),
                assigned_staff_id=None,
                assigned_name="Sam" if i % 2 else None,
                unread=bool(i % 2),
                last_number=1,
            )
            for i in range(5)
        ]
    )
    qtmodeltester.check(model)
    preview = model.data(model.index(1, PREVIEW_COLUMN))
    assert "\n" not in preview and "<b>x</b>" in preview
    tip = model.data(model.index(1, PREVIEW_COLUMN), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("\u2068") and "[U+202E]" in tip and tip.endswith("\u2069")
    assert model.data(model.index(0, PATIENT_COLUMN)) == "(patient not yet synced)"
    assert model.data(model.index(1, 0), Qt.ItemDataRole.FontRole).bold()
    assert model.data(model.index(2, 0), Qt.ItemDataRole.FontRole) is None
    assert model.data(model.index(1, 3)) == "7 min"


def test_the_whole_keyboard_flow(qtbot, practice, make_desk, tmp_path: Path):
    patient = Patient(practice)
    hostile = "<b>Bold?</b> <script>alert(1)</script> \u202eevil\nsecond line"
    thread = patient.write("Can I move my appointment to Friday?")
    pdf = _pdf()
    pdf_id = patient.attach(thread["id"], pdf, "card.pdf")
    png_id = patient.attach(thread["id"], _png(), "rash.png")
    patient.reply(thread["id"], hostile, [pdf_id, png_id])
    desk = make_desk(practice)
    window = desk.window
    view = _screen(desk)

    # Unassigned shows the thread, unread (bold), with its count in both sidebars.
    qtbot.waitUntil(lambda: [r.id for r in _rows(view)] == [thread["id"]], timeout=WAIT)
    qtbot.waitUntil(lambda: _pool_text(view, Pool.UNASSIGNED) == "Unassigned  (1)", timeout=WAIT)
    assert _rows(view)[0].unread
    assert any(
        window.sidebar.item(i).text() == "Messages  (1)" for i in range(window.sidebar.count())
    )

    # Down in the list opens the thread: header, plain-text bubbles, attachments.
    _focus(qtbot, view.table)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    pane = view.thread
    qtbot.waitUntil(
        lambda: pane.detail is not None and pane.detail.id == thread["id"], timeout=WAIT
    )
    assert pane.detail is not None
    assert pane.detail.mrn and pane.detail.mrn in pane.facts.text()
    assert "DOB " in pane.facts.text() and "unknown" not in pane.facts.text()
    qtbot.waitUntil(lambda: len(pane.findChildren(MessageBubble)) == 2, timeout=WAIT)
    bodies = [b.body for b in pane.findChildren(MessageBubble)]
    assert all(b.textFormat() == Qt.TextFormat.PlainText for b in bodies)
    shown = next(b.text() for b in bodies if "Bold?" in b.text())
    assert shown == body_text(hostile)
    assert "<script>alert(1)</script>" in shown and "[U+202E]evil" in shown
    assert pane.attachments.count() == 2 and not pane.files.isHidden()
    # Opened means read, here and (through the feed) in the count.
    qtbot.waitUntil(lambda: _pool_text(view, Pool.UNASSIGNED) == "Unassigned", timeout=WAIT)

    # The PDF opens in the app's own viewer, page by page; then it is saved from the viewer.
    pane.attachments.setCurrentRow(0)
    qtbot.mouseClick(pane.open_button, Qt.MouseButton.LeftButton)
    viewer = pane.findChildren(AttachmentViewer)[-1]
    qtbot.waitUntil(lambda: len(viewer.page_labels) == 2, timeout=WAIT)
    assert not viewer.page_labels[0].pixmap().isNull()
    qtbot.mouseClick(viewer.save_button, Qt.MouseButton.LeftButton)
    assert viewer.save_dialog is not None
    saved_pdf = tmp_path / "card-copy.pdf"
    viewer.save_dialog.fileSelected.emit(str(saved_pdf))
    viewer.save_dialog.close()
    qtbot.waitUntil(lambda: saved_pdf.exists(), timeout=WAIT)
    assert saved_pdf.read_bytes() == pdf
    qtbot.mouseClick(viewer.close_button, Qt.MouseButton.LeftButton)
    # The picture: viewer, and the pane's own Save button.
    pane.attachments.setCurrentRow(1)
    qtbot.mouseClick(pane.open_button, Qt.MouseButton.LeftButton)
    picture = pane.findChildren(AttachmentViewer)[-1]
    qtbot.waitUntil(lambda: len(picture.page_labels) == 1, timeout=WAIT)
    assert picture.page_labels[0].pixmap().width() == 40
    picture.close()
    qtbot.mouseClick(pane.save_button, Qt.MouseButton.LeftButton)
    assert pane.save_dialog is not None
    saved_png = tmp_path / "rash.png"
    pane.save_dialog.fileSelected.emit(str(saved_png))
    pane.save_dialog.close()
    qtbot.waitUntil(lambda: saved_png.exists(), timeout=WAIT)
    assert saved_png.read_bytes() == _png()

    # Quick text with placeholders from the keyboard, then Ctrl+Enter sends.
    qtbot.waitUntil(lambda: pane.quick_texts.count() > 1, timeout=WAIT)
    _focus(qtbot, pane.quick_texts)
    qtbot.keyClick(pane.quick_texts, Qt.Key.Key_Down)
    first_name = pane.detail.patient_first_name
    assert first_name and first_name in pane.composer.toPlainText()
    qtbot.waitUntil(pane.composer.hasFocus)
    qtbot.keyClicks(pane.composer, " See you Friday.")
    qtbot.keyClick(pane.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: pane.composer.toPlainText() == "", timeout=WAIT)
    # Sending..., then the portal has it and the patient reads it.
    qtbot.waitUntil(
        lambda: any(
            "See you Friday." in m["body"] for m in patient.thread(thread["id"])["messages"]
        ),
        timeout=WAIT,
    )
    qtbot.waitUntil(
        lambda: any(
            b.body.text().endswith("See you Friday.\u2069") and "Sending" not in b.meta.text()
            for b in pane.findChildren(MessageBubble)
        ),
        timeout=WAIT,
    )

    # T in the list takes it: it moves to Mine.
    _focus(qtbot, view.table)
    qtbot.keyClick(view.table, Qt.Key.Key_T)
    qtbot.waitUntil(lambda: "Assigned to" in pane.facts.text(), timeout=WAIT)
    assert practice.staff["front_desk"].name in pane.facts.text()
    view.show_pool(Pool.MINE)
    qtbot.waitUntil(lambda: [r.id for r in _rows(view)] == [thread["id"]], timeout=WAIT)

    # Ctrl+F searches every message; a word nobody wrote says so.
    qtbot.keyClick(view.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert view.search.hasFocus()
    qtbot.keyClicks(view.search, "fri")
    qtbot.waitUntil(lambda: view.heading.text().startswith("Messages containing"), timeout=WAIT)
    qtbot.waitUntil(lambda: [r.id for r in _rows(view)] == [thread["id"]], timeout=WAIT)
    view.search.clear()
    qtbot.keyClicks(view.search, "zebra")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not view.empty.isHidden(), timeout=WAIT)
    assert "No message contains" in view.empty.text()
    view.search.clear()
    qtbot.waitUntil(lambda: view.heading.text() == "Mine", timeout=WAIT)

    # X closes it: gone from Mine, in Closed; the portal says closed.
    view.select_id(thread["id"])
    _focus(qtbot, view.table)
    qtbot.keyClick(view.table, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: _rows(view) == [], timeout=WAIT)
    assert "Nothing is assigned to you" in view.empty.text()
    view.show_pool(Pool.CLOSED)
    qtbot.waitUntil(lambda: [r.id for r in _rows(view)] == [thread["id"]], timeout=WAIT)
    qtbot.waitUntil(lambda: patient.thread(thread["id"])["status"] == "closed", timeout=WAIT)


def test_buttons_assign_take_and_close(qtbot, practice, make_desk):
    patient = Patient(practice)
    thread = patient.write("Is my bill right?", topic="billing")
    desk = make_desk(practice)
    view = _screen(desk)
    view.show_pool(Topic.BILLING)
    qtbot.waitUntil(lambda: [r.id for r in _rows(view)] == [thread["id"]], timeout=WAIT)
    view.select_id(thread["id"])
    pane = view.thread
    qtbot.waitUntil(lambda: pane.detail is not None, timeout=WAIT)
    # Colleagues come from the portal.
    qtbot.waitUntil(lambda: pane.assignee.count() > 2, timeout=WAIT)
    manager = practice.staff["manager"].name
    pane.assignee.setCurrentIndex(pane.assignee.findText(manager))
    qtbot.mouseClick(pane.assign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: f"Assigned to \u2068{manager}\u2069" in pane.facts.text(), timeout=WAIT)
    qtbot.mouseClick(pane.take_button, Qt.MouseButton.LeftButton)
    me = practice.staff["front_desk"].name
    qtbot.waitUntil(lambda: f"Assigned to \u2068{me}\u2069" in pane.facts.text(), timeout=WAIT)
    assert not pane.take_button.isEnabled()
    qtbot.mouseClick(pane.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Closed" in pane.facts.text(), timeout=WAIT)
    assert not pane.close_button.isEnabled()
    qtbot.waitUntil(lambda: desk.engine.status.outbox_pending == 0, timeout=WAIT)
    assert patient.thread(thread["id"])["status"] == "closed"
    # A send button click with a body breaking the portal's rule keeps the text and says why.
    pane.composer.setPlainText("bad\x00byte")
    qtbot.mouseClick(pane.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.send_button.isEnabled(), timeout=WAIT)
    assert pane.composer.toPlainText() == "bad\x00byte"


def test_read_on_one_workstation_clears_the_count_on_another(qtbot, practice, make_desk):
    patient = Patient(practice)
    thread = patient.write("Hello from the portal")
    first = _screen(make_desk(practice, name="front"))
    second_desk = make_desk(practice, name="back")
    second = _screen(second_desk)
    for view in (first, second):
        qtbot.waitUntil(
            lambda v=view: _pool_text(v, Pool.UNASSIGNED) == "Unassigned  (1)", timeout=WAIT
        )
    first.select_id(thread["id"])
    qtbot.waitUntil(lambda: _pool_text(second, Pool.UNASSIGNED) == "Unassigned", timeout=WAIT)
    assert not _rows(second)[0].unread


def test_manager_edits_quick_texts(qtbot, practice, make_desk):
    patient = Patient(practice)
    thread = patient.write("Question about a refill", topic="prescription_refill")
    desk = make_desk(practice, role="manager")
    view = _screen(desk)
    assert view.edit_texts_button.isVisible()
    qtbot.mouseClick(view.edit_texts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.editor is not None, timeout=WAIT)
    editor = view.editor
    assert editor is not None and len(editor.texts) == 4  # the defaults, until a manager saves
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    editor.title.setText("Call back")
    editor.title.textEdited.emit("Call back")
    editor.body.setPlainText("Hi {patient_first_name}, call {practice_phone}. {nonsense}")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "nonsense" in editor.error.text(), timeout=WAIT)
    editor.body.setPlainText("Hi {patient_first_name}, please call {practice_phone}.")
    # The first default goes.
    editor.list.setCurrentRow(0)
    qtbot.mouseClick(editor.remove_button, Qt.MouseButton.LeftButton)
    count = len(editor.texts)
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    combo = view.thread.quick_texts

    def titles() -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    qtbot.waitUntil(lambda: "Call back" in titles(), timeout=WAIT)
    assert "Thanks, we're on it" not in titles() and combo.count() == count + 1
    # Filled for the open thread.
    view.show_pool(Topic.PRESCRIPTION_REFILL)
    qtbot.waitUntil(lambda: view.select_id(thread["id"]), timeout=WAIT)
    qtbot.waitUntil(lambda: view.thread.detail is not None, timeout=WAIT)
    _focus(qtbot, combo)
    for _ in range(titles().index("Call back")):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert practice_phone_in(view.thread.composer.toPlainText(), desk)
    # Cancel leaves everything as it was.
    qtbot.mouseClick(view.edit_texts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.editor is not None, timeout=WAIT)
    again = view.editor
    assert again is not None and len(again.texts) == count
    qtbot.mouseClick(again.add_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(again.cancel_button, Qt.MouseButton.LeftButton)
    assert view.thread.quick_texts.count() == count + 1


def practice_phone_in(text: str, desk) -> bool:
    return desk.ops.session.practice.phone in text and "{" not in text


def test_front_desk_cannot_edit_quick_texts_and_billing_has_no_inbox(qtbot, practice, make_desk):
    front = _screen(make_desk(practice, name="front"))
    assert front.edit_texts_button.isHidden()
    billing = make_desk(practice, role="billing", name="billing")
    assert billing.window.messages is None
    assert billing.window.checkins.chat_button.isHidden()


def test_checkins_c_opens_the_arrival_chat(qtbot, practice, make_desk):
    desk = make_desk(practice)
    board = desk.window.checkins
    checkin = patient_check_in(practice)
    qtbot.waitUntil(lambda: board.model.row_of(checkin["id"]) >= 0, timeout=WAIT)
    board.select_id(checkin["id"])
    _focus(qtbot, board.table)
    qtbot.keyClick(board.table, Qt.Key.Key_C)
    view = desk.window.messages
    assert view is not None
    qtbot.waitUntil(lambda: desk.window.stack.currentWidget() is view, timeout=WAIT)
    qtbot.waitUntil(
        lambda: view.thread.detail is not None and view.thread.detail.topic is Topic.ARRIVAL,
        timeout=WAIT,
    )
    assert view.heading.text().startswith("Arrivals")
    # The button does the same.
    desk.window.sidebar.setCurrentRow(0)
    qtbot.mouseClick(board.chat_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: desk.window.stack.currentWidget() is view, timeout=WAIT)


def test_a_new_patient_message_gives_a_notice_without_phi(qtbot, practice, make_desk):
    desk = make_desk(practice)
    notifier = desk.window.notifier
    assert notifier is not None
    assert notifier.tray is None  # offscreen: no tray, and nothing fails
    qtbot.waitUntil(lambda: desk.engine.status.online is True, timeout=WAIT)
    with qtbot.waitSignal(notifier.noticed, timeout=WAIT) as blocker:
        Patient(practice).write("Private detail about my health")
    assert blocker.args == [NOTICE_TEXT]
    # Switched off from the Sync menu: no notice, and the choice is announced for saving.
    action = desk.window.notices_action
    assert action is not None
    with qtbot.waitSignal(desk.window.message_notices_changed) as toggled:
        action.trigger()
    assert toggled.args == [False]
    with qtbot.assertNotEmitted(notifier.noticed, wait=2500):
        Patient(practice).write("Another one")


def test_screen_fits_1280_by_800(qtbot, practice, make_desk, tmp_path: Path, styled):
    patient = Patient(practice)
    patient.write("A long message " * 30)
    desk = make_desk(practice)
    desk.window.resize(1280, 800)
    view = _screen(desk)
    qtbot.waitUntil(lambda: len(_rows(view)) == 1, timeout=WAIT)
    view.select_id(_rows(view)[0].id)
    qtbot.waitUntil(lambda: view.thread.detail is not None, timeout=WAIT)
    header = view.table.horizontalHeader()
    desk.window.grab().save(str(tmp_path / "messages.png"))
    assert header.length() <= view.table.viewport().width()
    labels = [w for w in view.findChildren(QLabel) if w.text()]
    assert all(w.textFormat() == Qt.TextFormat.PlainText for w in labels)


def test_a_managers_quick_texts_reach_every_workstation(qtbot, practice, make_desk):
    manager = _screen(make_desk(practice, role="manager", name="office"))
    front = _screen(make_desk(practice, name="front"))
    qtbot.mouseClick(manager.edit_texts_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: manager.editor is not None, timeout=WAIT)
    editor = manager.editor
    assert editor is not None
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    editor.title.setText("Parking")
    editor.title.textEdited.emit("Parking")
    editor.body.setPlainText("Hi {patient_first_name}, parking is free behind {practice_name}.")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    combo = front.thread.quick_texts

    def front_titles() -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    # Through the portal and the other desk's feed, not this workstation's store.
    qtbot.waitUntil(lambda: "Parking" in front_titles(), timeout=WAIT)
    with http_session(practice.ca_file) as http:
        saved = http.get(
            f"{practice.staff_url}/quick-texts", headers=staff_headers(http, practice), timeout=10
        ).json()
    assert [t["title"] for t in saved["texts"]][-1] == "Parking"
    assert set(front_titles()) >= {t["title"] for t in saved["texts"]}
