"""The Registrations screen against the real portal: a registration that fails to match at
connect reaches the desk's queue through the feed; the desk confirms or rejects it by keyboard,
and the patient account sees the outcome (pytest-qt, offscreen)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests import patient_flows
from tests.desktop.typing import type_text
from tests.patient_flows import Flows, body_of
from visitdesk.api.wire_registration import REJECT_REASONS
from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.views.registration_dialogs import (
    ConfirmMatchDialog,
    FindRecordDialog,
    RejectDialog,
)
from visitdesk.desktop.views.registrations import RegistrationsView
from visitdesk.matching import Band

SCREENSHOTS = os.environ.get("VISITDESK_SCREENSHOTS")

# The registration-flow fixtures: a portal mailing through a real SMTP server on loopback.
mailbox = patient_flows.mailbox
flows_portal = patient_flows.flows_portal
flows_database = patient_flows.flows_database
flows = patient_flows.flows


@pytest.fixture
def styled(qapp):
    if SCREENSHOTS:
        qapp.setStyleSheet(load_stylesheet())
    yield
    if SCREENSHOTS:
        qapp.setStyleSheet("")


def _shot(widget, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(SCREENSHOTS) / f"{name}.png"))


def _queued(flows: Flows, first: str, last: str, dob: str, **extra: str) -> tuple[str, dict]:
    address, headers = flows.email_account(first, last)
    started = flows.connect(headers, first, last, dob, **extra)
    assert started.json()["outcome"] == "queued", started.text
    return address, headers


def _dialog(kind: type) -> object | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible():
            return widget
    return None


def _open_screen(window) -> RegistrationsView:
    view = window.registrations
    assert isinstance(view, RegistrationsView)
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    window.sidebar.setCurrentRow(next(i for i, t in enumerate(titles) if "Registrations" in t))
    return view


def test_queue_confirm_and_reject_by_keyboard(
    flows: Flows, make_desk, qtbot, qtmodeltester, styled
) -> None:
    robert = flows.add_patient(
        "Robert", "Smith", "1980-01-02", phone="413-555-0101", email="rsmith@example.net"
    )
    flows.add_patient("Roberta", "Smith", "1980-02-01")
    bob_mail, bob = _queued(flows, "Bob", "Smith", "1980-01-02", phone="(413) 555-0101")
    rita_mail, rita = _queued(flows, "Rita", "Nobody", "1999-09-09")

    desk = make_desk(flows.practice)
    window = desk.window
    view = _open_screen(window)
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    window.resize(1280, 800)

    # The queue arrives through the real feed, oldest first, with its count in the sidebar.
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 2, timeout=15_000)
    assert view.queue_model.row_at(0).first_name == "Bob"
    qtbot.waitUntil(
        lambda: any(
            window.sidebar.item(i).text() == "Registrations  (2)"
            for i in range(window.sidebar.count())
        )
    )
    # Candidates for Bob: Robert Smith first (nickname, same phone), explained field by field.
    qtbot.waitUntil(
        lambda: (
            view.candidates_model.rowCount() > 0
            and view.candidates_model.row_at(0).record.portal_id == robert
        ),
        timeout=15_000,
    )
    qtmodeltester.check(view.queue_model)
    qtmodeltester.check(view.candidates_model)
    qtmodeltester.check(view.comparison_model)
    reasons = [
        view.comparison_model.data(view.comparison_model.index(r, 3))
        for r in range(view.comparison_model.rowCount())
    ]
    assert "Bob is a nickname of Robert" in reasons
    _shot(window, "registrations")

    view.candidates_table.setFocus()
    qtbot.waitUntil(view.candidates_table.hasFocus)
    # S skips to the next registration, Page Up comes back.
    qtbot.keyClick(view.candidates_table, Qt.Key.Key_S)
    assert view.current_registration().first_name == "Rita"
    qtbot.keyClick(view.candidates_table, Qt.Key.Key_PageUp)
    assert view.current_registration().first_name == "Bob"
    qtbot.waitUntil(lambda: view.selected_candidate() is not None, timeout=10_000)
    if view.candidates_model.rowCount() > 1:
        qtbot.keyClick(view.candidates_table, Qt.Key.Key_Down)
        assert view.selected_candidate().record.portal_id != robert
        qtbot.keyClick(view.candidates_table, Qt.Key.Key_Up)
    assert view.selected_candidate().record.portal_id == robert

    # Enter: a confirmation spelling out what disagrees; Enter again connects.
    qtbot.keyClick(view.candidates_table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _dialog(ConfirmMatchDialog) is not None)
    confirm = _dialog(ConfirmMatchDialog)
    assert "does not agree" in confirm.doubts.text() or "Every field" in confirm.doubts.text()
    _shot(confirm, "registrations-confirm")
    qtbot.waitUntil(lambda: QApplication.activeWindow() is confirm)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: _dialog(ConfirmMatchDialog) is None)
    qtbot.waitUntil(lambda: desk.store.outbox_pending_count() == 0, timeout=15_000)
    assert desk.store.failed_outbox_items() == []
    # The account is connected: the patient sees the record and its balance, and is told.
    qtbot.waitUntil(
        lambda: [p["patient_id"] for p in flows.get("/patients", bob).json()] == [robert],
        timeout=15_000,
    )
    assert flows.get("/balance", bob).status_code == 200
    assert any("now connected" in m["Subject"] for m in flows.mailbox.wait_for(bob_mail, 2))
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 1, timeout=15_000)
    assert view.current_registration().first_name == "Rita"

    # R: reject with a template; Down picks the second one; Enter sends it.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    view.candidates_table.setFocus()
    qtbot.keyClick(view.candidates_table, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: _dialog(RejectDialog) is not None)
    dialog = _dialog(RejectDialog)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    assert QApplication.focusWidget() is dialog.reasons
    qtbot.keyClick(dialog.reasons, Qt.Key.Key_Down)
    assert dialog.reason_code == "details_differ"
    assert dialog.preview.text() == REJECT_REASONS["details_differ"]
    _shot(dialog, "registrations-reject")
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)

    def rita_rejected() -> bool:
        [mine] = flows.get("/registrations", rita).json()
        return mine["status"] == "rejected" and mine["reason"] == REJECT_REASONS["details_differ"]

    qtbot.waitUntil(rita_rejected, timeout=15_000)
    _confirmation, told = flows.mailbox.wait_for(rita_mail, 2)
    assert REJECT_REASONS["details_differ"] in " ".join(body_of(told).split())
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 0, timeout=15_000)
    qtbot.waitUntil(
        lambda: "Registrations" in [window.sidebar.item(i).text() for i in range(len(titles))]
    )
    _shot(window, "registrations-empty")


def test_find_the_record_by_hand_when_no_candidate_is_right(flows: Flows, make_desk, qtbot) -> None:
    # Married and moved: nothing on the registration leads to her record, so the desk looks.
    margaret = flows.add_patient("Margaret", "Okafor", "1975-03-04", phone="413-555-0177")
    _mail, meg = _queued(flows, "Meg", "Brown", "1976-11-20")

    desk = make_desk(flows.practice)
    window = desk.window
    view = _open_screen(window)
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 1, timeout=15_000)
    qtbot.waitUntil(lambda: view.find_button.isEnabled(), timeout=15_000)
    assert all(
        view.candidates_model.row_at(r).record.portal_id != margaret
        for r in range(view.candidates_model.rowCount())
    )

    # F: a search over the local records, started from the registration's name.
    view.candidates_table.setFocus()
    qtbot.waitUntil(view.candidates_table.hasFocus)
    qtbot.keyClick(view.candidates_table, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: _dialog(FindRecordDialog) is not None)
    finder = _dialog(FindRecordDialog)
    # Pre-filled with the date of birth as well; the name is selected, to be typed over.
    assert finder.search.field.text() == "Brown, Meg 11/20/1976"
    assert finder.search.field.selectedText() == "Brown, Meg"
    qtbot.waitUntil(lambda: QApplication.activeWindow() is finder)
    finder.search.field.selectAll()
    type_text(qtbot, finder.search.field, "Okafor, Marg")
    qtbot.waitUntil(
        lambda: (
            finder.search.model.rowCount() == 1
            and finder.search.model.hit_at(0).portal_id == margaret
        ),
        timeout=5_000,
    )
    # Down to the list, Enter takes it: she is compared field by field, last in the list.
    qtbot.keyClick(finder.search.field, Qt.Key.Key_Down)
    assert finder.chosen is not None and finder.chosen.portal_id == margaret
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _dialog(FindRecordDialog) is None)
    qtbot.waitUntil(
        lambda: (
            view.selected_candidate() is not None
            and view.selected_candidate().record.portal_id == margaret
        ),
        timeout=10_000,
    )
    assert view.comparison_model.rowCount() > 0

    # Enter, Enter: confirmed; the portal connects her account to the record.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    view.candidates_table.setFocus()
    qtbot.keyClick(view.candidates_table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _dialog(ConfirmMatchDialog) is not None)
    confirm = _dialog(ConfirmMatchDialog)
    assert "does not agree" in confirm.doubts.text()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is confirm)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: [p["patient_id"] for p in flows.get("/patients", meg).json()] == [margaret],
        timeout=15_000,
    )
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 0, timeout=15_000)


def test_a_weak_candidate_is_not_preselected_and_skip_follows_the_queue(
    flows: Flows, make_desk, qtbot
) -> None:
    # Same date of birth, both names different: shown as a weak candidate, never selected for
    # the desk, so Enter cannot connect it.
    harold = flows.add_patient("Harold", "Finch", "1970-05-05")
    _queued(flows, "Zed", "Quincy", "1970-05-05")
    desk = make_desk(flows.practice)
    view = _open_screen(desk.window)
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 1, timeout=15_000)
    qtbot.waitUntil(lambda: view.candidates_model.rowCount() > 0, timeout=15_000)
    qtbot.waitUntil(lambda: "none is selected" in view.candidates_note.text(), timeout=5_000)
    top = view.candidates_model.row_at(0)
    assert top.record.portal_id == harold and top.candidate.band is Band.WEAK
    assert view.selected_candidate() is None and not view.confirm_button.isEnabled()
    # The band in words; no raw score anywhere in the table.
    shown = [
        view.candidates_model.data(view.candidates_model.index(0, c))
        for c in range(view.candidates_model.columnCount())
    ]
    assert shown[0] == "Weak" and not any(f"{top.score:.1f}" == text for text in shown)
    tip = view.candidates_model.data(view.candidates_model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Weak match")
    view.candidates_table.setFocus()
    qtbot.waitUntil(view.candidates_table.hasFocus)
    qtbot.keyClick(view.candidates_table, Qt.Key.Key_Return)
    assert _dialog(ConfirmMatchDialog) is None
    assert not view.skip_button.isEnabled()  # nothing to skip to

    # A second registration arrives while the first is shown: Skip (S) becomes available.
    _queued(flows, "Amy", "Lind", "1991-01-01")
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 2, timeout=15_000)
    assert view.current_registration().first_name == "Zed"
    qtbot.waitUntil(view.skip_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(view.skip_button, Qt.MouseButton.LeftButton)
    assert view.current_registration().first_name == "Amy"


def test_offline_the_desk_says_nothing_was_sent(flows: Flows, make_desk, qtbot) -> None:
    _queued(flows, "Rita", "Nobody", "1999-09-09")
    desk = make_desk(flows.practice)
    window = desk.window
    view = _open_screen(window)
    qtbot.waitUntil(lambda: view.queue_model.rowCount() == 1, timeout=15_000)
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Last synced"), timeout=10_000)

    # The network goes away: nothing listens where the portal was.
    desk.opened.client.base_url = "https://127.0.0.1:9"
    qtbot.waitUntil(lambda: "Offline" in window.online_label.text(), timeout=10_000)
    assert window.sync_label.text().startswith("Not synced since ")
    assert "just now" not in window.sync_label.text()

    # A decision taken offline is recorded, and the desk does not claim the patient was told.
    view.reject_current()
    qtbot.waitUntil(lambda: _dialog(RejectDialog) is not None)
    dialog = _dialog(RejectDialog)
    with qtbot.waitSignal(view.message, timeout=5_000) as told:
        qtbot.mouseClick(dialog.reject_button, Qt.MouseButton.LeftButton)
    (text,) = told.args
    assert "Saved on this workstation only" in text and "only then" in text
    assert "; the portal tells the patient" not in text
    qtbot.waitUntil(
        lambda: "1 change waiting to be sent" in window.outbox_label.text(), timeout=10_000
    )
    assert "All changes sent" not in window.outbox_label.text()


def test_billing_does_not_see_the_screen(flows: Flows, make_desk) -> None:
    desk = make_desk(flows.practice, role="billing")
    assert desk.window.registrations is None
    titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
    assert not any("Registrations" in t for t in titles)
