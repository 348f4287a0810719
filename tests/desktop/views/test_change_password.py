"""File ▸ Change my password against the real portal over TLS: wrong current password and a
weak new one are said in words (and the session stays signed in), a good one ends the other
sessions and the lock screen takes the new password; offline, nothing changes and it says so."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt

from tests.desktop.views.test_staff import _sign_in
from tests.fixtures_portal import make_practice
from visitdesk.desktop.views.password_dialog import ChangePasswordDialog
from visitdesk.portal.persistence.db import Database

SCREENSHOTS = os.environ.get("VISITDESK_SCREENSHOTS")
NEW_PASSWORD = "copper-window-thistle-82"


def _open_dialog(qtbot, desk) -> ChangePasswordDialog:
    action = desk.window.change_password_action
    assert action.isEnabled() and action.text().startswith("Change my pass")
    action.trigger()
    qtbot.waitUntil(
        lambda: any(d.isVisible() for d in desk.window.findChildren(ChangePasswordDialog)),
        timeout=5_000,
    )
    return next(d for d in desk.window.findChildren(ChangePasswordDialog) if d.isVisible())


def _submit(qtbot, dialog: ChangePasswordDialog, current: str, new: str, again: str) -> None:
    dialog.current.setText(current)
    dialog.new.setText(new)
    dialog.repeat.setText(again)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_change_my_password(make_desk, practice, qtbot, styled) -> None:
    other = make_desk(practice, "billing", name="ws-other")
    qtbot.waitUntil(lambda: other.engine.status.online, timeout=15_000)
    desk = make_desk(practice, "billing")
    cred = practice.staff["billing"]
    dialog = _open_dialog(qtbot, desk)

    _submit(qtbot, dialog, cred.password, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert "not the same" in dialog.error.text() and dialog.error.isVisible()

    _submit(qtbot, dialog, "not-my-password-1", NEW_PASSWORD, NEW_PASSWORD)
    qtbot.waitUntil(
        lambda: "current password is not correct" in dialog.error.text(), timeout=10_000
    )
    assert dialog.isVisible() and dialog.ok_button.isEnabled()
    assert not desk.window.auth_banner.isVisible()  # a wrong password does not sign anyone out

    _submit(qtbot, dialog, cred.password, "password12", "password12")
    qtbot.waitUntil(lambda: "too common" in dialog.error.text(), timeout=10_000)
    _submit(qtbot, dialog, cred.password, "short", "short")
    qtbot.waitUntil(lambda: "at least 10" in dialog.error.text(), timeout=10_000)
    if SCREENSHOTS:
        dialog.grab().save(str(Path(SCREENSHOTS) / "change-password.png"))

    finished: list[int] = []
    dialog.finished.connect(finished.append)
    _submit(qtbot, dialog, cred.password, NEW_PASSWORD, NEW_PASSWORD)
    qtbot.waitUntil(lambda: finished == [1], timeout=10_000)
    assert "password was changed" in desk.window.statusBar().currentMessage()
    assert _sign_in(practice, cred.username, cred.password) == 401
    assert _sign_in(practice, cred.username, NEW_PASSWORD) == 200
    assert desk.opened.unlock(NEW_PASSWORD) and not desk.opened.unlock(cred.password)
    # This session goes on; the other workstation's ended.
    qtbot.waitUntil(lambda: other.window.auth_banner.isVisible(), timeout=15_000)
    assert not desk.window.auth_banner.isVisible()


def test_offline_it_says_so_and_nothing_changes(make_desk, portal_factory, qtbot) -> None:
    portal = portal_factory.start()
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=5, accounts=1)
    finally:
        db.dispose()
    desk = make_desk(practice, "front_desk")
    cred = practice.staff["front_desk"]
    portal.stop()
    dialog = _open_dialog(qtbot, desk)
    _submit(qtbot, dialog, cred.password, NEW_PASSWORD, NEW_PASSWORD)
    qtbot.waitUntil(lambda: "cannot be reached" in dialog.error.text(), timeout=20_000)
    assert "Nothing was changed" in dialog.error.text()
    assert desk.opened.unlock(cred.password)
    finished: list[int] = []
    dialog.finished.connect(finished.append)
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Cancel), Qt.MouseButton.LeftButton
    )
    assert finished == [0]
    assert desk.store.outbox_pending_count() == 0  # a password change is never queued
