"""Messages in the local store: the desk's actions become outbox commands by name and params,
and a reply's state is read from its outbox item."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from visitdesk.api.commands import ASSIGN_THREAD, CLOSE_THREAD, MARK_THREAD_READ, REPLY_TO_THREAD
from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_messages import ThreadOut, ThreadStatus, Topic
from visitdesk.desktop.models import LocalStore, NotFoundError, messages
from visitdesk.desktop.models.messages import ReplyState


def _thread_item(seq: int, thread_id: str, last_number: int) -> ChangeItem:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    thread = ThreadOut(
        id=thread_id,
        patient_id="P1",
        topic=Topic.BILLING,
        subject="Statement",
        status=ThreadStatus.OPEN,
        created_at=now,
        last_message_at=now,
        last_number=last_number,
        last_patient_number=last_number,
        last_staff_number=0,
        staff_read_number=0,
        patient_read_number=last_number,
    )
    return ChangeItem(
        seq=seq, kind=messages.THREAD_KIND, op="upsert", id=thread_id, data=thread.model_dump()
    )


def test_actions_are_outbox_commands_with_the_thread_as_parameter(store: LocalStore) -> None:
    store.apply_changes([_thread_item(1, "T1", 2)], 1)
    detail, read = messages.open_thread(store, "T1")
    assert read is not None and read.command == MARK_THREAD_READ.name
    assert read.params == {"thread_id": "T1"} and read.body == {"up_to": 2}
    assert detail.unread is False
    # Read already: opening again sends nothing.
    assert messages.open_thread(store, "T1")[1] is None

    reply = messages.reply(store, "T1", "We fixed the statement.", "Dana Whitfield")
    assert (reply.command, reply.params) == (REPLY_TO_THREAD.name, {"thread_id": "T1"})
    assert reply.body is not None and reply.body["body"] == "We fixed the statement."
    assign = messages.assign(store, "T1", "S1", "Dana Whitfield")
    assert (assign.command, assign.body) == (ASSIGN_THREAD.name, {"staff_id": "S1"})
    close = messages.close(store, "T1")
    assert (close.command, close.body) == (CLOSE_THREAD.name, None)
    assert [i.command for i in store.pending_outbox_items()] == [
        MARK_THREAD_READ.name,
        REPLY_TO_THREAD.name,
        ASSIGN_THREAD.name,
        CLOSE_THREAD.name,
    ]


def test_a_replys_state_follows_its_outbox_item(store: LocalStore) -> None:
    store.apply_changes([_thread_item(1, "T1", 1)], 1)
    item = messages.reply(store, "T1", "On its way.", "Dana Whitfield")

    def state() -> ReplyState | None:
        with store.read() as session:
            rows = messages.thread_detail(session, "T1").messages
        return next(m.state for m in rows if m.body == "On its way.")

    assert state() is ReplyState.SENDING
    store.outbox_failed(item.id, "refused", retryable=False)
    assert state() is ReplyState.FAILED
    store.retry_outbox_item(item.id)
    assert state() is ReplyState.SENDING
    store.outbox_sent(item.id, None)
    assert state() is ReplyState.SENT  # until the feed brings the message itself


def test_a_discarded_reply_is_gone_not_shown_as_sent(store: LocalStore) -> None:
    store.apply_changes([_thread_item(1, "T1", 1)], 1)
    item = messages.reply(store, "T1", "Never mind.", "Dana Whitfield")
    store.outbox_failed(item.id, "refused", retryable=False)
    store.discard_outbox_item(item.id)
    with store.read() as session:
        bodies = [m.body for m in messages.thread_detail(session, "T1").messages]
    assert "Never mind." not in bodies


def test_actions_on_an_unknown_thread_are_refused(store: LocalStore) -> None:
    with pytest.raises(NotFoundError):
        messages.reply(store, "nope", "Hello", "Dana Whitfield")
    assert store.pending_outbox_items() == []
