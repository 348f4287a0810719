"""A change the portal refuses is shown to the user, kept, and can be discarded or sent again."""

from __future__ import annotations

from visitdesk.api.commands import SET_CHECKIN_STATUS
from visitdesk.api.wire import CheckInStatus, CheckInStatusUpdate


def test_refused_change_shows_a_banner_and_can_be_discarded(qtbot, practice, make_desk):
    desk = make_desk(practice)
    with desk.store.write() as uow:
        uow.enqueue(
            SET_CHECKIN_STATUS,
            {"checkin_id": "no-such-checkin"},
            CheckInStatusUpdate(status=CheckInStatus.ACKNOWLEDGED),
            "Acknowledge check-in",
        )
    desk.engine.kick()
    qtbot.waitUntil(lambda: not desk.window.banner.isHidden(), timeout=10_000)
    assert "did not accept 1 change" in desk.window._banner_text.text()

    dialog = desk.window.show_outbox()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5_000)
    assert dialog.table.item(0, 0).text() == "Acknowledge check-in"
    assert dialog.table.item(0, 2).text()  # the portal's reason, in words

    with qtbot.waitSignal(desk.bridge.outbox_failed, timeout=10_000):
        dialog.retry_button.click()  # sent again, refused again: still listed
    qtbot.waitUntil(lambda: desk.store.failed_outbox_items() != [], timeout=10_000)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5_000)

    dialog.discard_button.click()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=5_000)
    qtbot.waitUntil(lambda: desk.window.banner.isHidden(), timeout=5_000)
    assert desk.store.failed_outbox_items() == []
    assert "accepted" in dialog.summary.text()
