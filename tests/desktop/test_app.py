"""The composition root end to end: sign-in dialog, main window, sign-out, against the real portal."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from visitdesk.desktop.app import VisitDeskApp
from visitdesk.desktop.settings import Settings
from visitdesk.desktop.tasks import TaskRunner


@pytest.fixture
def desk_app(qtbot, tmp_path: Path):
    runner = TaskRunner()
    app = VisitDeskApp(tmp_path / "data", runner)
    yield app
    app.close_session()
    runner.shutdown(wait=True)


def fill_and_submit(
    qtbot, dialog, practice, password: str | None = None, ca: bool = True, url: str | None = None
) -> None:
    staff = practice.staff["front_desk"]
    dialog.portal.setText(url or practice.base_url)
    dialog.practice.setText(practice.practice_code)
    dialog.username.setText(staff.username)
    dialog.password.setText(staff.password if password is None else password)
    dialog.ca_file.setText(str(practice.ca_file) if ca else "")
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )


def test_sign_in_opens_the_board_and_remembers_the_workstation(qtbot, desk_app, practice):
    dialog = desk_app.show_sign_in()
    qtbot.addWidget(dialog)
    fill_and_submit(qtbot, dialog, practice)
    qtbot.waitUntil(lambda: desk_app.running is not None, timeout=10_000)
    window = desk_app.running.window
    qtbot.addWidget(window)
    assert window.isVisible()
    assert practice.practice_name in window.windowTitle()
    qtbot.waitUntil(lambda: window.online_label.text() == "\u25cf Online", timeout=10_000)
    saved = Settings.load(desk_app.data_dir)
    assert (saved.portal_url, saved.practice_code) == (practice.base_url, practice.practice_code)
    assert saved.username == practice.staff["front_desk"].username
    assert desk_app.running.engine.push_concurrency == saved.push_concurrency
    # The password is never written to the data directory.
    for path in desk_app.data_dir.rglob("*"):
        if path.is_file():
            assert practice.staff["front_desk"].password.encode() not in path.read_bytes()


def test_wrong_password_is_explained_and_nothing_opens(qtbot, desk_app, practice):
    dialog = desk_app.show_sign_in()
    qtbot.addWidget(dialog)
    fill_and_submit(qtbot, dialog, practice, password="not-the-password")
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert "password" in dialog.error.text().lower()
    assert dialog.password.text() == ""
    assert desk_app.running is None


def test_portal_certificate_without_the_ca_file_is_refused_in_plain_words(
    qtbot, desk_app, practice
):
    dialog = desk_app.show_sign_in()
    qtbot.addWidget(dialog)
    fill_and_submit(qtbot, dialog, practice, ca=False)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert "certificate" in dialog.error.text().lower()
    assert desk_app.running is None


def test_plain_http_address_is_refused_before_anything_is_sent(qtbot, desk_app):
    dialog = desk_app.show_sign_in()
    qtbot.addWidget(dialog)
    dialog.portal.setText("http://portal.example.org")
    dialog.practice.setText("x")
    dialog.username.setText("u")
    dialog.password.setText("p")
    dialog.submit()
    assert "https://" in dialog.error.text()


def test_without_a_keyring_the_desk_says_so_and_keeps_the_token_in_memory(
    qtbot, desk_app, practice, no_keyring
):
    dialog = desk_app.show_sign_in()
    qtbot.addWidget(dialog)
    fill_and_submit(qtbot, dialog, practice)
    qtbot.waitUntil(lambda: desk_app.running is not None, timeout=10_000)
    window = desk_app.running.window
    qtbot.addWidget(window)
    boxes = window.findChildren(QMessageBox)
    assert any("keyring" in box.text().lower() for box in boxes)
    assert "sign in again" in boxes[0].text().lower()


def test_restart_resumes_with_the_keyring_token_then_sign_out_forgets_it(qtbot, desk_app, practice):
    dialog = desk_app.show_sign_in()
    qtbot.addWidget(dialog)
    fill_and_submit(qtbot, dialog, practice)
    qtbot.waitUntil(lambda: desk_app.running is not None, timeout=10_000)
    qtbot.addWidget(desk_app.running.window)
    desk_app.close_session()

    runner = TaskRunner()
    again = VisitDeskApp(desk_app.data_dir, runner)
    try:
        again.start()
        qtbot.waitUntil(lambda: again.running is not None, timeout=10_000)
        qtbot.addWidget(again.running.window)
        assert again.running.session.staff.role == "front_desk"
        again.sign_out()
        qtbot.waitUntil(lambda: again.sign_in_dialog is not None, timeout=5_000)
        qtbot.addWidget(again.sign_in_dialog)
        assert "signed out" in again.sign_in_dialog.error.text().lower()
    finally:
        again.close_session()
        runner.shutdown(wait=True)


def test_the_status_bar_says_why_changes_wait_while_the_store_cannot_be_written(
    qtbot, desk_app, practice, portal_server, fault_proxy, tmp_path
):
    from tests.faultproxy import Fault
    from tests.storefaults import StoreFaults
    from tests.sync.portal_helpers import patient_checkin
    from visitdesk.api.wire import CheckInStatus

    proxy = fault_proxy(portal_server)
    dialog = desk_app.show_sign_in()
    qtbot.addWidget(dialog)
    fill_and_submit(qtbot, dialog, practice, url=proxy.base_url)
    qtbot.waitUntil(lambda: desk_app.running is not None, timeout=10_000)
    running = desk_app.running
    window = running.window
    qtbot.addWidget(window)
    window.resize(1280, 800)
    store = running.session.store
    checkin_id = patient_checkin(practice)["id"]
    qtbot.waitUntil(lambda: store.checkin(checkin_id) is not None, timeout=10_000)
    faults = StoreFaults(store)
    try:
        # The portal acts; its answer comes back only once the store has become read-only.
        proxy.add(Fault("delay", "POST", r"/status$", seconds=0.5))
        store.set_checkin_status(checkin_id, CheckInStatus.ACKNOWLEDGED, "Desk One")
        running.engine.kick()
        qtbot.waitUntil(lambda: proxy.requests.get("POST", 0) > 0, timeout=5_000)
        faults.read_only = True
        qtbot.waitUntil(lambda: "read-only" in window.outbox_label.text(), timeout=10_000)
        assert window.outbox_label.text() == (
            "1 change waiting to be sent \u00b7 Cannot save changes: the local database is "
            "read-only; VisitDesk keeps trying"
        )
        assert window.online_label.text() == "\u25cf Online"
        label = window.outbox_label
        qtbot.waitUntil(lambda: label.width() >= label.sizeHint().width(), timeout=5_000)
        window.grab().save(str(tmp_path / "store-read-only.png"))
        faults.read_only = False
        qtbot.waitUntil(lambda: window.outbox_label.text() == "All changes sent", timeout=15_000)
    finally:
        faults.remove()
