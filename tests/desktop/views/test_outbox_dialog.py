"""A change the portal refuses is shown to the user, kept, and can be discarded or sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from sqlalchemy import update

from visitdesk.api.commands import SET_CHECKIN_STATUS
from visitdesk.api.wire import CheckInStatus, CheckInStatusUpdate
from visitdesk.desktop.models.schema import OutboxEntry
from visitdesk.desktop.views.outbox_dialog import OutboxDialog
from visitdesk.sync.engine import HELD_PREFIX
from visitdesk.sync.errors import (
    BadResponse,
    Forbidden,
    NotFound,
    Rejected,
    may_succeed_again,
)


def _answer(qtbot, dialog, text: str) -> None:
    qtbot.waitUntil(lambda: dialog.confirm_box is not None and dialog.confirm_box.isVisible())
    box = dialog.confirm_box
    (button,) = [b for b in box.buttons() if b.text() == text]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_refused_change_shows_a_banner_and_can_be_discarded(qtbot, practice, make_desk):
    desk = make_desk(practice)
    window = desk.window
    with desk.store.write() as uow:
        uow.enqueue(
            SET_CHECKIN_STATUS,
            {"checkin_id": "no-such-checkin"},
            CheckInStatusUpdate(status=CheckInStatus.ACKNOWLEDGED),
            "Acknowledge check-in",
        )
    desk.engine.kick()
    qtbot.waitUntil(lambda: not window.banner.isHidden(), timeout=10_000)
    assert "did not accept 1 change" in window._banner_text.text()
    # The status bar agrees with the banner: the change was not sent.
    qtbot.waitUntil(lambda: "1 change not accepted" in window.outbox_label.text(), timeout=5_000)
    assert "All changes sent" not in window.outbox_label.text()

    # Sync > "Changes the portal did not accept".
    (action,) = [a for a in window.findChildren(QAction) if "portal did &not accept" in a.text()]
    action.trigger()
    qtbot.waitUntil(lambda: len(window.findChildren(OutboxDialog)) == 1)
    (dialog,) = window.findChildren(OutboxDialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5_000)
    assert dialog.table.item(0, 0).text() == "Acknowledge check-in"
    assert dialog.table.item(0, 2).text()  # the portal's reason, in words
    assert dialog.table.wordWrap()
    # No such check-in: sending it again cannot succeed, so it is not offered.
    dialog.table.selectRow(0)
    assert not dialog.retry_button.isEnabled()
    assert "refuse this change again" in dialog.hint.text()

    # Discard asks first; "Keep it" keeps it.
    qtbot.mouseClick(dialog.discard_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, dialog, "Keep it")
    qtbot.waitUntil(lambda: dialog.confirm_box is None)
    assert len(desk.store.failed_outbox_items()) == 1
    qtbot.mouseClick(dialog.discard_button, Qt.MouseButton.LeftButton)
    _answer(qtbot, dialog, "Discard change")
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=5_000)
    qtbot.waitUntil(lambda: window.banner.isHidden(), timeout=5_000)
    assert desk.store.failed_outbox_items() == []
    assert "accepted" in dialog.summary.text()
    qtbot.waitUntil(lambda: window.outbox_label.text() == "All changes sent", timeout=5_000)


def test_a_change_that_may_go_through_can_be_sent_again(qtbot, practice, make_desk):
    desk = make_desk(practice)
    item = desk.store.enqueue(
        SET_CHECKIN_STATUS,
        {"checkin_id": "no-such-checkin"},
        CheckInStatusUpdate(status=CheckInStatus.ACKNOWLEDGED),
        "Acknowledge check-in",
    )
    # Parked as a conflict would be (the record was being changed elsewhere at the time).
    desk.store.outbox_failed(item.id, "The record changed meanwhile.", retryable=True)
    dialog = desk.window.show_outbox()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5_000)
    assert dialog.retry_button.isEnabled()
    with qtbot.waitSignal(desk.bridge.outbox_failed, timeout=10_000):
        qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    # Sent again and refused on the merits this time: listed again, without Send again.
    qtbot.waitUntil(
        lambda: [i.retryable for i in desk.store.failed_outbox_items()] == [False], timeout=10_000
    )
    qtbot.waitUntil(lambda: "refuse this change again" in dialog.hint.text(), timeout=5_000)
    assert dialog.table.rowCount() == 1 and not dialog.retry_button.isEnabled()


@pytest.mark.parametrize(
    ("error", "again"),
    [
        (Forbidden(), False),
        (NotFound(), False),
        (Rejected(422, "date of birth is not a date"), False),
        (Rejected(400, "bad"), False),
        (Rejected(409, "the registration was decided meanwhile"), True),
        (BadResponse(), True),
    ],
)
def test_which_refusals_may_succeed_again(error, again):
    assert may_succeed_again(error) is again


def test_a_change_queued_longer_than_the_portal_remembers_is_held_for_a_person(
    qtbot, practice, make_desk
):
    desk = make_desk(practice)
    # Queued 40 days ago (the desk was offline): the portal keeps idempotency keys for 30 days,
    # so a blind resend could apply the change twice. Queued and back-dated in one transaction:
    # the engine must never see the item as new.
    with desk.store.write() as uow:
        item = uow.enqueue(
            SET_CHECKIN_STATUS,
            {"checkin_id": "no-such-checkin"},
            CheckInStatusUpdate(status=CheckInStatus.ACKNOWLEDGED),
            "Acknowledge check-in",
        )
        uow.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == item.id)
            .values(created_at=datetime.now(UTC) - timedelta(days=40))
        )
    with qtbot.waitSignal(desk.bridge.outbox_failed, timeout=10_000):
        desk.engine.kick()
    (held,) = desk.store.failed_outbox_items()
    assert held.last_error.startswith(HELD_PREFIX) and held.retryable
    dialog = desk.window.show_outbox()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5_000)
    dialog.table.selectRow(0)
    assert dialog.retry_button.text() == "Send anyway"
    assert "longer than the portal remembers" in dialog.hint.text()
    # The person sends it anyway: it goes to the portal now (which refuses this one on the merits).
    with qtbot.waitSignal(desk.bridge.outbox_failed, timeout=10_000):
        qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: [i.retryable for i in desk.store.failed_outbox_items()] == [False], timeout=10_000
    )
    (refused,) = desk.store.failed_outbox_items()
    assert not refused.last_error.startswith(HELD_PREFIX)
    qtbot.waitUntil(lambda: dialog.retry_button.text() == "Send again", timeout=5_000)
