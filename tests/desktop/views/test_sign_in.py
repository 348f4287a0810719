"""The sign-in window against the real portal over TLS: a wrong password is said plainly, and a
password a manager reset must be replaced right there before the desk opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from tests.fixtures_portal import PortalPractice, http_session
from visitdesk.desktop import session as sessions
from visitdesk.desktop.settings import Settings
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.desktop.views.sign_in import SignInDialog, SignInRequest
from visitdesk.sync.credentials import MemoryTokenStore

NEW_PASSWORD = "harbor-velvet-signal-63"


def _dialog(
    qtbot: Any, practice: PortalPractice, tmp_path: Path, runner: TaskRunner
) -> SignInDialog:
    def sign_in(request: SignInRequest) -> sessions.OpenSession:
        return sessions.sign_in(
            tmp_path,
            request.portal_url,
            request.practice,
            request.username,
            request.password,
            request.ca_file,
            MemoryTokenStore(),
            new_password=request.new_password,
        )

    settings = Settings(
        portal_url=practice.base_url,
        practice_code=practice.practice_code,
        username=practice.staff["front_desk"].username,
        ca_file=str(practice.ca_file),
    )
    dialog = SignInDialog(runner, sign_in, settings)
    qtbot.addWidget(dialog)
    dialog.resize(1280 // 2, 800 // 2)
    dialog.show()
    return dialog


def _click_sign_in(qtbot: Any, dialog: SignInDialog) -> None:
    button = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_reset_password_is_replaced_at_sign_in(
    qtbot: Any, practice: PortalPractice, tmp_path: Path
) -> None:
    with http_session(practice.ca_file) as http:
        manager = practice.staff["manager"]
        signed_in = http.post(
            f"{practice.staff_url}/sessions",
            json={
                "practice": practice.practice_code,
                "username": manager.username,
                "password": manager.password,
            },
            timeout=10,
        ).json()
        desk_id = http.post(
            f"{practice.staff_url}/sessions",
            json={
                "practice": practice.practice_code,
                "username": practice.staff["front_desk"].username,
                "password": practice.staff["front_desk"].password,
            },
            timeout=10,
        ).json()["staff"]["id"]
        reset = http.post(
            f"{practice.staff_url}/staff/{desk_id}/password-reset",
            headers={"Authorization": f"Bearer {signed_in['access_token']}"},
            timeout=10,
        )
        one_time = reset.json()["one_time_password"]

    runner = TaskRunner()
    opened: list[sessions.OpenSession] = []
    try:
        dialog = _dialog(qtbot, practice, tmp_path, runner)
        dialog.signed_in.connect(opened.append)
        assert not dialog.new_password.isVisible()

        dialog.password.setText("not the password")
        _click_sign_in(qtbot, dialog)
        qtbot.waitUntil(
            lambda: dialog.error.isVisible() and "Incorrect" in dialog.error.text(), timeout=10_000
        )

        dialog.password.setText(one_time)
        _click_sign_in(qtbot, dialog)
        qtbot.waitUntil(lambda: dialog.new_password.isVisible(), timeout=10_000)
        assert "reset your password" in dialog.error.text()
        assert dialog.password.text() == one_time  # kept: it was right
        dialog.grab().save(str(tmp_path / "sign-in-new-password.png"))

        dialog.new_password.setText(NEW_PASSWORD)
        dialog.repeat_password.setText(NEW_PASSWORD + "x")
        _click_sign_in(qtbot, dialog)
        assert "not the same" in dialog.error.text()

        dialog.new_password.setText("short")
        dialog.repeat_password.setText("short")
        _click_sign_in(qtbot, dialog)
        qtbot.waitUntil(lambda: "at least 10" in dialog.error.text(), timeout=10_000)

        dialog.new_password.setText(NEW_PASSWORD)
        dialog.repeat_password.setText(NEW_PASSWORD)
        _click_sign_in(qtbot, dialog)
        qtbot.waitUntil(lambda: len(opened) == 1, timeout=10_000)
        assert opened[0].staff.role == "front_desk"
        assert opened[0].unlock(NEW_PASSWORD)  # the lock screen knows the new password
    finally:
        for session in opened:
            session.client.close()
            session.store.close()
        runner.shutdown(wait=True)

    with http_session(practice.ca_file) as http:
        again = http.post(
            f"{practice.staff_url}/sessions",
            json={
                "practice": practice.practice_code,
                "username": practice.staff["front_desk"].username,
                "password": NEW_PASSWORD,
            },
            timeout=10,
        )
    assert again.status_code == 200 and again.json()["password_change_required"] is False
