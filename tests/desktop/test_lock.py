"""The idle lock: patient details are covered until the signed-in staff member's password is typed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from visitdesk.desktop.idle import IdleWatcher


def test_idle_watcher_fires_once_after_the_limit_and_input_resets_it(qtbot):
    watcher = IdleWatcher(minutes=0.005)  # 0.3 s
    fired: list[bool] = []
    watcher.idle.connect(lambda: fired.append(True))
    qtbot.waitUntil(lambda: fired == [True], timeout=3_000)
    watcher.reset()
    qtbot.waitUntil(lambda: fired == [True, True], timeout=3_000)
    watcher.stop()


def test_lock_hides_the_board_and_unlocks_with_the_password(qtbot, practice, make_desk):
    desk = make_desk(practice)
    window = desk.window
    outbox_dialog = window.show_outbox()
    window.lock()
    assert window.locked
    assert not outbox_dialog.isVisible()
    assert not window.menuBar().isEnabled()
    assert not any(view.isVisible() for view in window.findChildren(QTableView))

    screen = window.lock_screen
    qtbot.keyClicks(screen.password, "wrong password")
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: screen.error.isVisible(), timeout=10_000)
    assert window.locked
    assert screen.password.text() == ""

    qtbot.keyClicks(screen.password, practice.staff["front_desk"].password)
    qtbot.keyClick(screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.locked, timeout=10_000)
    assert window.menuBar().isEnabled()
    assert outbox_dialog.isVisible()
    assert window.checkins.isVisible()
