"""The Staff screen against the real portal over TLS (pytest-qt, offscreen): add staff (one-time
password shown once), set a role, the last-manager rule in words, reset a colleague's password,
disable and enable; only managers see it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from tests.fixtures_portal import http_session
from visitdesk.desktop import session as sessions
from visitdesk.desktop.views.staff import StaffView
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.errors import PasswordChangeRequired

SCREENSHOTS = os.environ.get("VISITDESK_SCREENSHOTS")
NEW_PASSWORD = "lantern-orchard-pebble-47"


def _screen(desk) -> StaffView:
    view = desk.window.staff
    assert view is not None
    titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
    desk.window.sidebar.setCurrentRow(titles.index("Staff"))
    return view


def _sign_in(practice, username: str, password: str) -> int:
    http = http_session(practice.ca_file)
    try:
        return http.post(
            f"{practice.staff_url}/sessions",
            json={"practice": practice.practice_code, "username": username, "password": password},
            timeout=10,
        ).status_code
    finally:
        http.close()


def test_only_managers_have_the_staff_screen(make_desk, practice) -> None:
    assert make_desk(practice, "billing").window.staff is None


def test_add_role_disable_enable(make_desk, practice, qtbot, qtmodeltester, styled) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    qtbot.waitUntil(lambda: len(view.model.rows) == 3, timeout=15_000)
    qtmodeltester.check(view.model)

    # Add a member: the one-time password is shown once and works for a first sign-in.
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None and not dialog.ok_button.isEnabled()  # type: ignore[attr-defined]
    username = f"noor{uuid.uuid4().hex[:5]}"
    dialog.name.setText("Noor Haddad")  # type: ignore[attr-defined]
    dialog.username.setText(username)  # type: ignore[attr-defined]
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: view.secret_panel.isVisible(), timeout=10_000)
    one_time = view.secret_value.text()
    qtbot.waitUntil(lambda: len(view.model.rows) == 4, timeout=10_000)
    assert _sign_in(practice, username, one_time) == 200
    if SCREENSHOTS:
        desk.window.resize(1280, 800)
        qtbot.waitUntil(lambda: not view.table.horizontalScrollBar().isVisible(), timeout=5_000)
        desk.window.grab().save(str(Path(SCREENSHOTS) / "staff.png"))
    qtbot.mouseClick(view.done_button, Qt.MouseButton.LeftButton)
    assert view.secret_panel.isHidden() and view.secret_value.text() == ""

    # The last manager cannot step down: the portal's reason is shown.
    me = view.model.row_of(desk.ops.session.staff.id)
    view.table.selectRow(me)
    assert not view.active_button.isEnabled()
    view.role_box.setCurrentIndex(view.role_box.findData("billing"))
    qtbot.mouseClick(view.role_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "at least one active" in view.status.text(), timeout=10_000)

    # Make the new member billing staff, then disable and enable them.
    view.select(next(r.id for r in view.model.rows if r.username == username))
    view.role_box.setCurrentIndex(view.role_box.findData("billing"))
    qtbot.mouseClick(view.role_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(r.username == username and r.role == "billing" for r in view.model.rows),
        timeout=10_000,
    )
    view.select(next(r.id for r in view.model.rows if r.username == username))
    qtbot.mouseClick(view.active_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(r.username == username and not r.active for r in view.model.rows),
        timeout=10_000,
    )
    assert _sign_in(practice, username, one_time) == 401
    view.select(next(r.id for r in view.model.rows if r.username == username))
    assert view.active_button.text() == "Enable"
    qtbot.mouseClick(view.active_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(r.username == username and r.active for r in view.model.rows),
        timeout=10_000,
    )


def test_reset_password_asks_shows_it_once_and_forces_a_new_one(
    make_desk, practice, qtbot, tmp_path, styled
) -> None:
    """Reset from the Staff screen against the real portal: the colleague's open session ends,
    their old password stops working, and the one-time password must be replaced at sign-in."""
    colleague = make_desk(practice, "front_desk", name="ws-colleague")
    qtbot.waitUntil(lambda: colleague.engine.status.online, timeout=15_000)
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    qtbot.waitUntil(lambda: len(view.model.rows) == 3, timeout=15_000)
    cred = practice.staff["front_desk"]

    view.select(desk.ops.session.staff.id)
    assert not view.reset_button.isEnabled()  # one's own: File ▸ Change my password
    view.select(next(r.id for r in view.model.rows if r.username == cred.username))
    assert view.reset_button.isEnabled()

    # Asked first: No changes nothing.
    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    box = view.confirm_box
    assert box is not None and cred.username in box.text() and "signed out" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert view.confirm_box is None and view.secret_panel.isHidden()
    assert _sign_in(practice, cred.username, cred.password) == 200

    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    box = view.confirm_box
    assert box is not None
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.secret_panel.isVisible(), timeout=10_000)
    one_time = view.secret_value.text()
    assert len(one_time.replace("-", "")) == 16 and "shown only now" in view.secret_text.text()
    assert "sessions have ended" in view.status.text()
    if SCREENSHOTS:
        desk.window.resize(1280, 800)
        desk.window.grab().save(str(Path(SCREENSHOTS) / "staff-reset.png"))

    # Copy puts it on the clipboard; Done forgets it and takes it off the clipboard.
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == one_time
    qtbot.mouseClick(view.done_button, Qt.MouseButton.LeftButton)
    assert view.secret_panel.isHidden() and view.secret_value.text() == ""
    assert QGuiApplication.clipboard().text() == ""

    # The colleague's open session ended; the old password is gone.
    qtbot.waitUntil(lambda: colleague.window.auth_banner.isVisible(), timeout=15_000)
    assert _sign_in(practice, cred.username, cred.password) == 401

    # The one-time password opens nothing until a new password is chosen.
    with pytest.raises(PasswordChangeRequired):
        sessions.sign_in(
            tmp_path / "ws-after",
            practice.base_url,
            practice.practice_code,
            cred.username,
            one_time,
            practice.ca_file,
            MemoryTokenStore(),
        )
    opened = sessions.sign_in(
        tmp_path / "ws-after",
        practice.base_url,
        practice.practice_code,
        cred.username,
        one_time,
        practice.ca_file,
        MemoryTokenStore(),
        new_password=NEW_PASSWORD,
    )
    try:
        assert opened.staff.role == "front_desk" and opened.unlock(NEW_PASSWORD)
    finally:
        opened.client.close()
        opened.store.close()
    assert _sign_in(practice, cred.username, one_time) == 401
    assert _sign_in(practice, cred.username, NEW_PASSWORD) == 200
