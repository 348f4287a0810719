"""Threads and their messages: starting, replying, assigning, closing, read state.

Every change of a thread appends a ``thread`` feed item (and a new message a ``thread_message``
item) in the same transaction, so each desk learns of it, including read state set on another
workstation. Ids are always checked against the caller: a patient account sees only threads about
patients linked to it, staff only their practice's; anything else is "not found".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from visitdesk.api.wire import Role
from visitdesk.api.wire_messages import (
    AttachmentOut,
    AuthorKind,
    MessageOut,
    PatientThreadOut,
    ThreadOut,
    ThreadStatus,
    Topic,
)
from visitdesk.portal.persistence.db import column_values, utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes, at_commit
from visitdesk.portal.persistence.models import (
    AccountLink,
    Patient,
    StaffUser,
    new_id,
)
from visitdesk.portal.persistence.models_messages import (
    MessageAttachment,
    MessageThread,
    ThreadMessage,
)
from visitdesk.portal.web.errors import NotFound, Unprocessable

log = logging.getLogger(__name__)

#: Roles that work the shared inbox and can be assigned a thread.
INBOX_ROLES = (Role.FRONT_DESK.value, Role.MANAGER.value)
#: The first message of an arrival chat, written for the patient when they tap I'm Here.
ARRIVAL_GREETING = "I'm here."


@dataclass(frozen=True)
class Author:
    kind: AuthorKind
    name: str
    staff_id: str | None = None
    account_id: str | None = None

    @property
    def uploader(self) -> str:
        return (
            f"staff:{self.staff_id}"
            if self.kind is AuthorKind.STAFF
            else f"patient:{self.account_id}"
        )


# --------------------------------------------------------------------------- wire models


def thread_out(row: MessageThread) -> ThreadOut:
    return ThreadOut(
        id=row.id,
        patient_id=row.patient_id,
        topic=Topic(row.topic),
        subject=row.subject,
        status=ThreadStatus(row.status),
        assigned_staff_id=row.assigned_staff_id,
        assigned_name=row.assigned_name,
        checkin_id=row.checkin_id,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
        last_number=row.last_number,
        last_patient_number=row.last_patient_number,
        last_staff_number=row.last_staff_number,
        staff_read_number=row.staff_read_number,
        patient_read_number=row.patient_read_number,
    )


def patient_thread_out(row: MessageThread) -> PatientThreadOut:
    return PatientThreadOut(
        id=row.id,
        patient_id=row.patient_id,
        topic=Topic(row.topic),
        subject=row.subject,
        status=ThreadStatus(row.status),
        created_at=row.created_at,
        last_message_at=row.last_message_at,
        last_number=row.last_number,
        unread=row.last_staff_number > row.patient_read_number,
    )


def attachment_out(row: MessageAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        thread_id=row.thread_id,
        message_id=row.message_id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
    )


def message_out(row: ThreadMessage, attachments: Sequence[MessageAttachment] = ()) -> MessageOut:
    return MessageOut(
        id=row.id,
        thread_id=row.thread_id,
        number=row.number,
        author_kind=AuthorKind(row.author_kind),
        author_name=row.author_name,
        body=row.body,
        created_at=row.created_at,
        attachments=[attachment_out(a) for a in attachments],
        client_id=row.client_id,
    )


def messages_of(session: Session, thread_id: str, after: int = 0) -> list[MessageOut]:
    rows = session.scalars(
        select(ThreadMessage)
        .where(ThreadMessage.thread_id == thread_id, ThreadMessage.number > after)
        .order_by(ThreadMessage.number)
    ).all()
    by_message: dict[str, list[MessageAttachment]] = {}
    if rows:
        for attachment in session.scalars(
            select(MessageAttachment)
            .where(MessageAttachment.message_id.in_([r.id for r in rows]))
            .order_by(MessageAttachment.created_at)
        ):
            by_message.setdefault(str(attachment.message_id), []).append(attachment)
    return [message_out(row, by_message.get(row.id, ())) for row in rows]


def _emit_thread(session: Session, row: MessageThread) -> ThreadOut:
    out = thread_out(row)
    append_changes(session, row.practice_id, [NewChange.of("thread", out, row.id)])
    return out


# --------------------------------------------------------------------------- scoping


def linked_patient_ids(session: Session, account_id: str) -> list[str]:
    return list(
        session.scalars(
            select(AccountLink.patient_id).where(
                AccountLink.account_id == account_id, AccountLink.revoked_at.is_(None)
            )
        )
    )


def thread_for_patient(
    session: Session, account_id: str, thread_id: str, *, lock: bool = False
) -> MessageThread:
    query = select(MessageThread).where(
        MessageThread.id == thread_id,
        MessageThread.patient_id.in_(
            select(AccountLink.patient_id).where(
                AccountLink.account_id == account_id, AccountLink.revoked_at.is_(None)
            )
        ),
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("No such thread.")
    return row


def thread_for_staff(
    session: Session, practice_id: str, thread_id: str, *, lock: bool = False
) -> MessageThread:
    query = select(MessageThread).where(
        MessageThread.id == thread_id, MessageThread.practice_id == practice_id
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("No such thread.")
    return row


# --------------------------------------------------------------------------- writing


def _add_message(
    session: Session,
    thread: MessageThread,
    author: Author,
    body: str,
    attachment_ids: Sequence[str] = (),
    client_id: str | None = None,
) -> MessageOut:
    attachments: list[MessageAttachment] = []
    if attachment_ids:
        if len(set(attachment_ids)) != len(attachment_ids):
            raise Unprocessable("The same attachment is listed twice.")
        found = {
            row.id: row
            for row in session.scalars(
                select(MessageAttachment).where(
                    MessageAttachment.id.in_(list(attachment_ids)),
                    MessageAttachment.thread_id == thread.id,
                    MessageAttachment.uploaded_by == author.uploader,
                    MessageAttachment.message_id.is_(None),
                )
            )
        }
        if len(found) != len(attachment_ids):
            raise NotFound("No such attachment waiting on this thread.")
        attachments = [found[aid] for aid in attachment_ids]
    now = utcnow()
    thread.last_number += 1
    row = ThreadMessage(
        thread_id=thread.id,
        practice_id=thread.practice_id,
        number=thread.last_number,
        author_kind=author.kind.value,
        author_name=author.name,
        author_staff_id=author.staff_id,
        author_account_id=author.account_id,
        body=body,
        client_id=client_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    for attachment in attachments:
        attachment.message_id = row.id
    thread.last_message_at = now
    if author.kind is AuthorKind.PATIENT:
        thread.last_patient_number = row.number
        thread.patient_read_number = row.number
        # A patient writing again means the matter is not settled.
        thread.status = ThreadStatus.OPEN.value
    else:
        thread.last_staff_number = row.number
        thread.staff_read_number = row.number
    session.flush()
    out = message_out(row, attachments)
    append_changes(
        session,
        thread.practice_id,
        [
            NewChange.of("thread_message", out, row.id),
            NewChange.of("thread", thread_out(thread), thread.id),
        ],
    )
    return out


def start_thread(
    session: Session,
    account_id: str,
    author_name: str,
    patient_id: str,
    topic: Topic,
    subject: str,
    body: str,
) -> MessageThread:
    if topic is Topic.ARRIVAL:
        raise Unprocessable("An arrival chat begins with I'm Here; choose another topic.")
    if patient_id not in linked_patient_ids(session, account_id):
        raise NotFound("No such patient on this account.")
    practice_id = session.scalar(select(Patient.practice_id).where(Patient.id == patient_id))
    thread = MessageThread(
        practice_id=practice_id,
        patient_id=patient_id,
        account_id=account_id,
        topic=topic.value,
        subject=subject,
        status=ThreadStatus.OPEN.value,
    )
    session.add(thread)
    session.flush()
    author = Author(AuthorKind.PATIENT, author_name, account_id=account_id)
    _add_message(session, thread, author, body)
    log.info("thread %s started in practice %s", thread.id, practice_id)
    return thread


def start_arrival_chat(
    session: Session,
    practice_id: str,
    patient_id: str,
    account_id: str,
    account_name: str,
    checkin_id: str,
    thread_id: str,
) -> MessageThread:
    """The chat an I'm Here tap begins, opened with a greeting in the patient's name.

    Written with two plain INSERTs (the thread already at its first message), not through the
    unit of work, sent with the COMMIT (:func:`~visitdesk.portal.persistence.feed.at_commit`): a
    tap is the portal's busiest write. The check-in row must be queued first (``checkin_id``
    refers to it). Returns the thread as written (not attached to the session)."""
    now = utcnow()
    thread = MessageThread(
        id=thread_id,
        practice_id=practice_id,
        patient_id=patient_id,
        account_id=account_id,
        topic=Topic.ARRIVAL.value,
        subject="",
        status=ThreadStatus.OPEN.value,
        assigned_staff_id=None,
        assigned_name=None,
        checkin_id=checkin_id,
        created_at=now,
        last_message_at=now,
        last_number=1,
        last_patient_number=1,
        last_staff_number=0,
        staff_read_number=0,
        patient_read_number=1,
    )
    message = ThreadMessage(
        id=new_id(),
        thread_id=thread_id,
        practice_id=practice_id,
        number=1,
        author_kind=AuthorKind.PATIENT.value,
        author_name=account_name,
        author_staff_id=None,
        author_account_id=account_id,
        body=ARRIVAL_GREETING,
        client_id=None,
        created_at=now,
    )
    at_commit(session, _INSERT_THREAD, column_values(thread))
    at_commit(session, _INSERT_MESSAGE, column_values(message))
    append_changes(
        session,
        practice_id,
        [
            NewChange.of("thread_message", message_out(message), message.id),
            NewChange.of("thread", thread_out(thread), thread.id),
        ],
    )
    return thread


_INSERT_THREAD = insert(cast(Table, MessageThread.__table__))
_INSERT_MESSAGE = insert(cast(Table, ThreadMessage.__table__))


@dataclass(frozen=True)
class StaffReply:
    message: MessageOut
    #: Whether the patient should be told a reply is waiting (nothing unread for them before).
    announce: bool
    account_id: str | None
    patient_id: str


def staff_reply(
    session: Session,
    practice_id: str,
    thread_id: str,
    author: Author,
    body: str,
    attachment_ids: Sequence[str] = (),
    client_id: str | None = None,
) -> StaffReply:
    thread = thread_for_staff(session, practice_id, thread_id, lock=True)
    # One announcement per batch of replies: none while an earlier one is still unread.
    announce = thread.patient_read_number >= thread.last_staff_number
    message = _add_message(session, thread, author, body, attachment_ids, client_id)
    return StaffReply(message, announce, thread.account_id, thread.patient_id)


def patient_reply(
    session: Session,
    account_id: str,
    author_name: str,
    thread_id: str,
    body: str,
    attachment_ids: Sequence[str] = (),
) -> MessageOut:
    thread = thread_for_patient(session, account_id, thread_id, lock=True)
    author = Author(AuthorKind.PATIENT, author_name, account_id=account_id)
    return _add_message(session, thread, author, body, attachment_ids)


def assign(session: Session, practice_id: str, thread_id: str, staff_id: str | None) -> ThreadOut:
    thread = thread_for_staff(session, practice_id, thread_id, lock=True)
    name: str | None = None
    if staff_id is not None:
        name = session.scalar(
            select(StaffUser.name).where(
                StaffUser.id == staff_id,
                StaffUser.practice_id == practice_id,
                StaffUser.active.is_(True),
                StaffUser.role.in_(INBOX_ROLES),
            )
        )
        if name is None:
            raise NotFound("No such colleague to assign.")
    if thread.assigned_staff_id == staff_id:
        return thread_out(thread)
    thread.assigned_staff_id, thread.assigned_name = staff_id, name
    session.flush()
    return _emit_thread(session, thread)


def close(session: Session, practice_id: str, thread_id: str) -> ThreadOut:
    thread = thread_for_staff(session, practice_id, thread_id, lock=True)
    if thread.status == ThreadStatus.CLOSED.value:
        return thread_out(thread)
    thread.status = ThreadStatus.CLOSED.value
    session.flush()
    return _emit_thread(session, thread)


def staff_mark_read(session: Session, practice_id: str, thread_id: str, up_to: int) -> ThreadOut:
    thread = thread_for_staff(session, practice_id, thread_id, lock=True)
    target = min(up_to, thread.last_number)
    if target <= thread.staff_read_number:
        return thread_out(thread)
    thread.staff_read_number = target
    session.flush()
    return _emit_thread(session, thread)


def patient_mark_read(
    session: Session, account_id: str, thread_id: str, up_to: int
) -> PatientThreadOut:
    thread = thread_for_patient(session, account_id, thread_id, lock=True)
    target = min(up_to, thread.last_number)
    if target > thread.patient_read_number:
        thread.patient_read_number = target
        session.flush()
        _emit_thread(session, thread)
    return patient_thread_out(thread)


def colleagues(session: Session, practice_id: str) -> list[tuple[str, str, str]]:
    return [
        (row.id, row.name, row.role)
        for row in session.execute(
            select(StaffUser.id, StaffUser.name, StaffUser.role)
            .where(
                StaffUser.practice_id == practice_id,
                StaffUser.active.is_(True),
                StaffUser.role.in_(INBOX_ROLES),
            )
            .order_by(StaffUser.name)
        )
    ]


def patient_threads(session: Session, account_id: str) -> list[PatientThreadOut]:
    rows = session.scalars(
        select(MessageThread)
        .where(
            MessageThread.patient_id.in_(
                select(AccountLink.patient_id).where(
                    AccountLink.account_id == account_id, AccountLink.revoked_at.is_(None)
                )
            )
        )
        .order_by(MessageThread.last_message_at.desc())
    ).all()
    return [patient_thread_out(row) for row in rows]
