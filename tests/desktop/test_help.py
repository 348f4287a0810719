"""Help for a newcomer: the keys of each screen, the demo's sign-ins, the screen each role starts on."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from visitdesk.desktop.demo import DemoEnvironment
from visitdesk.desktop.main_window import MainWindow


def _action(window: MainWindow, text: str) -> QAction | None:
    found = [a for a in window.findChildren(QAction) if a.text() == text]
    return found[0] if found else None


def test_help_lists_the_keys_of_the_screens_this_role_has(qtbot, practice, make_desk):
    desk = make_desk(practice)
    window = desk.window
    assert window.stack.currentWidget() is window.checkins
    assert window.checkins.acknowledge_button.text() == "Acknowledge (A)"
    assert window.checkins.roomed_button.text() == "Roomed (R)"
    assert _action(window, "&Demo sign-in details\u2026") is None  # not a demo
    _action(window, "&Keyboard shortcuts\u2026").trigger()
    qtbot.waitUntil(lambda: window.help_box is not None and window.help_box.isVisible())
    text = window.help_box.text()
    assert (
        "Check-ins\n  A \u2014 Acknowledge" in text and "Mark the selected patient roomed" in text
    )
    assert "C \u2014 Open the selected arrival's chat" in text
    assert "N \u2014 Mark the selected appointment a no-show" in text
    assert "Registrations" in text and "Skip to the next registration" in text
    assert "Ctrl+Q" in text
    window.help_box.close()
    qtbot.waitUntil(lambda: window.help_box is None)


def test_billing_starts_on_statements(qtbot, practice, make_desk):
    desk = make_desk(practice, role="billing")
    window = desk.window
    assert window.stack.currentWidget() is window.statements
    assert window.sidebar.currentItem().text() == "Statements"
    # Billing sees the board but cannot act on it: Help lists none of its keys.
    assert window.sidebar.findItems("Check-ins", Qt.MatchFlag.MatchStartsWith)
    _action(window, "&Keyboard shortcuts\u2026").trigger()
    qtbot.waitUntil(lambda: window.help_box is not None and window.help_box.isVisible())
    text = window.help_box.text()
    assert "Check-ins" not in text and "arrival" not in text and "roomed" not in text
    assert "Ctrl+Q" in text
    window.help_box.close()
    qtbot.waitUntil(lambda: window.help_box is None)


def test_the_demo_shows_its_sign_ins(qtbot, practice, make_desk, tmp_path):
    desk = make_desk(practice)
    demo = DemoEnvironment(
        tmp_path,
        "https://127.0.0.1:8443",
        tmp_path / "ca.pem",
        {
            "practice_code": "demo",
            "staff": [
                {"role": "front_desk", "username": "frontdesk", "password": "pw-front-1"},
                {"role": "billing", "username": "billing", "password": "pw-bill-2"},
                {"role": "manager", "username": "manager", "password": "pw-mgr-3"},
            ],
        },
    )
    details = demo.sign_in_details()
    assert "https://127.0.0.1:8443" in details and "Practice code: demo" in details
    for line in ("frontdesk / pw-front-1", "billing / pw-bill-2", "manager / pw-mgr-3"):
        assert line in details
    window = MainWindow(desk.ops, desk.bridge, demo_sign_ins=details)
    qtbot.addWidget(window)
    _action(window, "&Demo sign-in details\u2026").trigger()
    qtbot.waitUntil(lambda: window.help_box is not None and window.help_box.isVisible())
    assert "Office manager: manager / pw-mgr-3" in window.help_box.text()
    assert "Practice code: demo" in window.help_box.text()
    window.help_box.grab().save(str(tmp_path / "demo-help.png"))
