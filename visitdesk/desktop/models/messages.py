"""Secure messages in the local store: threads and messages from the feed, replies written here,
and full-text search (SQLite FTS5). Quick-text templates are in `quick_texts`.

A reply written on this workstation is a ``pending_replies`` row plus an outbox item, committed
together; its state is read from the outbox (there: sending, parked: failed, gone: sent). When the
portal's feed brings the message back carrying the reply's ``client_id``, the pending row goes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    ColumnElement,
    Index,
    Integer,
    String,
    Text,
    and_,
    case,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.api.commands import (
    ASSIGN_THREAD,
    CLOSE_THREAD,
    MARK_THREAD_READ,
    REPLY_TO_THREAD,
    StaffCommand,
)
from visitdesk.api.wire import ChangeItem
from visitdesk.desktop.models.bulk import bulk_insert, delete_where_in
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.desktop.models.schema import Base, OutboxEntry, Patient, table_of
from visitdesk.sync.store import OutboxItem

if TYPE_CHECKING:
    from visitdesk.desktop.models.store import LocalStore

from visitdesk.api.wire_messages import (
    AuthorKind,
    MessageCreate,
    MessageOut,
    ThreadAssign,
    ThreadOut,
    ThreadRead,
    ThreadStatus,
    Topic,
)

#: The unit of work's outbox method: record a catalogue command to send once the transaction commits.
Enqueue = Callable[[StaffCommand[Any], Mapping[str, str], BaseModel | None, str], OutboxItem]

#: The FTS5 table over message bodies (created by migration 0007; not an ORM table).
SEARCH_TABLE = "message_search"
#: Characters of the newest message kept on the thread for the list's preview column.
PREVIEW_CHARS = 160
#: Most threads one listing returns, newest first; the pool's count is exact.
LIST_LIMIT = 1000


class Thread(Base):
    __tablename__ = "message_threads"
    __table_args__ = (
        Index(None, "status", "last_message_at"),
        Index(None, "assigned_staff_id", "status"),
        Index(None, "topic", "status"),
        Index(None, "checkin_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(16))
    assigned_staff_id: Mapped[str | None] = mapped_column(String(64))
    assigned_name: Mapped[str | None] = mapped_column(String(200))
    checkin_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    last_patient_number: Mapped[int] = mapped_column(Integer, default=0)
    last_staff_number: Mapped[int] = mapped_column(Integer, default=0)
    staff_read_number: Mapped[int] = mapped_column(Integer, default=0)
    patient_read_number: Mapped[int] = mapped_column(Integer, default=0)
    preview: Mapped[str] = mapped_column(String(PREVIEW_CHARS), default="")


class Message(Base):
    __tablename__ = "thread_messages"
    __table_args__ = (Index(None, "thread_id", "number", unique=True),)

    #: Integer key: the FTS5 index refers to messages by it.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal_id: Mapped[str] = mapped_column(String(64), unique=True)
    thread_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    author_kind: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: AttachmentOut dicts.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    client_id: Mapped[str | None] = mapped_column(String(64))


class PendingReply(Base):
    """A reply written here and not yet back from the portal's feed."""

    __tablename__ = "pending_replies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    author_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    idempotency_key: Mapped[str] = mapped_column(String(64))


# --------------------------------------------------------------------------- feed

_THREAD_FIELDS = (
    "patient_id",
    "topic",
    "subject",
    "status",
    "assigned_staff_id",
    "assigned_name",
    "checkin_id",
    "created_at",
    "last_message_at",
    "last_number",
    "last_patient_number",
    "last_staff_number",
    "staff_read_number",
    "patient_read_number",
)
_MESSAGE_FIELDS = ("thread_id", "number", "author_kind", "author_name", "body", "created_at")


def apply_threads(session: Session, items: list[ChangeItem]) -> None:
    rows = []
    for item in items:
        if item.op != "upsert":
            continue
        record = ThreadOut.model_validate(item.data)
        row = {field: getattr(record, field) for field in _THREAD_FIELDS}
        row["topic"], row["status"] = record.topic.value, record.status.value
        row["id"], row["preview"] = item.id, ""
        rows.append(row)
    delete_where_in(session, table_of(Thread), "id", [i.id for i in items if i.op == "delete"])
    bulk_insert(session, table_of(Thread), rows, conflict="id", update=_THREAD_FIELDS)
    # The preview is the newest message we hold; refreshed here because a thread item follows
    # its messages in the feed.
    ids = [row["id"] for row in rows]
    if ids:
        newest = (
            select(func.substr(Message.body, 1, PREVIEW_CHARS))
            .where(Message.thread_id == Thread.id)
            .order_by(Message.number.desc())
            .limit(1)
            .scalar_subquery()
        )
        session.execute(
            table_of(Thread)
            .update()
            .where(Thread.id.in_(ids))
            .values(preview=func.coalesce(newest, ""))
        )


def apply_messages(session: Session, items: list[ChangeItem]) -> None:
    rows = []
    arrived: list[str] = []
    for item in items:
        if item.op != "upsert":
            continue
        record = MessageOut.model_validate(item.data)
        row: dict[str, Any] = {field: getattr(record, field) for field in _MESSAGE_FIELDS}
        row["author_kind"] = record.author_kind.value
        row["portal_id"] = item.id
        row["attachments"] = [a.model_dump(mode="json") for a in record.attachments]
        row["client_id"] = record.client_id
        rows.append(row)
        if record.client_id:
            arrived.append(record.client_id)
    # Messages never change once written: an item seen again is skipped, which keeps FTS exact.
    bulk_insert(session, table_of(Message), rows, conflict="portal_id")
    delete_where_in(session, table_of(PendingReply), "id", arrived)


#: Feed kinds, in the order `feed.APPLIERS` applies them: messages before threads, since a
#: thread's preview is taken from its newest message held here.
MESSAGE_KIND = "thread_message"
THREAD_KIND = "thread"


# --------------------------------------------------------------------------- pools


class Pool(StrEnum):
    UNASSIGNED = "unassigned"
    MINE = "mine"
    ARRIVALS = "arrivals"
    CLOSED = "closed"
    ALL = "all"


#: Sidebar order: shared pools, then each topic a patient can choose, then closed.
TOPIC_POOLS = tuple(t for t in Topic if t is not Topic.ARRIVAL)


def _pool_filter(pool: Pool | Topic, staff_id: str) -> ColumnElement[bool]:
    open_ = Thread.status == ThreadStatus.OPEN.value
    if pool is Pool.UNASSIGNED:
        return and_(open_, Thread.assigned_staff_id.is_(None))
    if pool is Pool.MINE:
        return and_(open_, Thread.assigned_staff_id == staff_id)
    if pool is Pool.ARRIVALS:
        return and_(open_, Thread.topic == Topic.ARRIVAL.value)
    if pool is Pool.CLOSED:
        return Thread.status == ThreadStatus.CLOSED.value
    if pool is Pool.ALL:
        return Thread.id.is_not(None)
    return and_(open_, Thread.topic == Topic(pool).value)


_UNREAD = Thread.last_patient_number > Thread.staff_read_number


@dataclass(frozen=True)
class PoolCount:
    pool: Pool | Topic
    total: int
    unread: int


def pool_counts(session: Session, staff_id: str) -> list[PoolCount]:
    pools: list[Pool | Topic] = [
        Pool.UNASSIGNED,
        Pool.MINE,
        *TOPIC_POOLS,
        Pool.ARRIVALS,
        Pool.CLOSED,
    ]
    columns = []
    for pool in pools:
        where = _pool_filter(pool, staff_id)
        columns.append(func.sum(case((where, 1), else_=0)))
        columns.append(func.sum(case((and_(where, _UNREAD), 1), else_=0)))
    values = session.execute(select(*columns)).one()
    return [
        PoolCount(pool, int(values[2 * i] or 0), int(values[2 * i + 1] or 0))
        for i, pool in enumerate(pools)
    ]


@dataclass(frozen=True)
class ThreadRow:
    id: str
    patient_id: str
    patient_name: str | None
    topic: Topic
    status: ThreadStatus
    preview: str
    last_message_at: datetime
    assigned_staff_id: str | None
    assigned_name: str | None
    unread: bool
    last_number: int


def _thread_columns() -> tuple[Any, ...]:
    name = Patient.last_name + ", " + Patient.first_name
    return (
        Thread.id,
        Thread.patient_id,
        name,
        Thread.topic,
        Thread.status,
        Thread.preview,
        Thread.last_message_at,
        Thread.assigned_staff_id,
        Thread.assigned_name,
        _UNREAD,
        Thread.last_number,
    )


def _thread_row(row: Any) -> ThreadRow:
    return ThreadRow(
        id=row[0],
        patient_id=row[1],
        patient_name=row[2],
        topic=Topic(row[3]),
        status=ThreadStatus(row[4]),
        preview=row[5],
        last_message_at=row[6],
        assigned_staff_id=row[7],
        assigned_name=row[8],
        unread=bool(row[9]),
        last_number=row[10],
    )


def fts_query(words: str) -> str:
    """An FTS5 query matching messages containing every word (as a prefix), whatever the
    user typed: each word is quoted, so FTS5 operators in the text are taken literally."""
    terms = [w.replace('"', '""') for w in words.split() if w.strip('"')]
    return " ".join(f'"{term}"*' for term in terms)


class ThreadOrder(StrEnum):
    """What the thread list is sorted by (in SQL); each has a natural direction."""

    ACTIVITY = "activity"
    PATIENT = "patient"
    TOPIC = "topic"
    ASSIGNED = "assigned"


def _order_by(order: ThreadOrder, descending: bool) -> list[Any]:
    """ORDER BY for `order`; ties fall back to newest activity, then id, so pages are stable."""
    name = func.lower(Patient.last_name + ", " + Patient.first_name)
    key: Any = {
        ThreadOrder.ACTIVITY: Thread.last_message_at,
        ThreadOrder.PATIENT: name,
        ThreadOrder.TOPIC: Thread.topic,
        ThreadOrder.ASSIGNED: func.lower(Thread.assigned_name),
    }[order]
    first = key.desc() if descending else key.asc()
    if order is ThreadOrder.ACTIVITY:
        return [first, Thread.id]
    return [first, Thread.last_message_at.desc(), Thread.id]


def list_threads(
    session: Session,
    pool: Pool | Topic,
    staff_id: str,
    search: str = "",
    limit: int = LIST_LIMIT,
    order: ThreadOrder = ThreadOrder.ACTIVITY,
    descending: bool = True,
) -> list[ThreadRow]:
    """Threads of a pool, sorted in SQL (newest activity first by default); with ``search``,
    only threads with a message containing every word (all pools: a search looks everywhere)."""
    query = select(*_thread_columns()).outerjoin(Patient, Patient.portal_id == Thread.patient_id)
    if search.strip():
        words = fts_query(search)
        if not words:
            return []
        matched = (
            text(
                "SELECT m.thread_id FROM message_search s JOIN thread_messages m ON m.id = s.rowid "
                "WHERE message_search MATCH :q"
            )
            .bindparams(q=words)
            .columns(thread_id=String)
        )
        query = query.where(Thread.id.in_(select(matched.subquery().c.thread_id)))
    else:
        query = query.where(_pool_filter(pool, staff_id))
    query = query.order_by(*_order_by(order, descending)).limit(limit)
    return [_thread_row(row) for row in session.execute(query)]


def thread_for_checkin(session: Session, checkin_id: str) -> str | None:
    return session.scalar(select(Thread.id).where(Thread.checkin_id == checkin_id))


# --------------------------------------------------------------------------- one thread


class ReplyState(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class ThreadMessageRow:
    number: int | None
    author_kind: str
    author_name: str
    body: str
    created_at: datetime
    attachments: list[dict[str, Any]]
    #: None for a message the portal holds; a state for a reply written here.
    state: ReplyState | None = None


@dataclass(frozen=True)
class ThreadDetail:
    id: str
    topic: Topic
    subject: str
    status: ThreadStatus
    assigned_staff_id: str | None
    assigned_name: str | None
    last_number: int
    unread: bool
    patient_id: str
    patient_first_name: str | None
    patient_last_name: str | None
    date_of_birth: date | None
    mrn: str | None
    messages: list[ThreadMessageRow]


def thread_detail(session: Session, thread_id: str) -> ThreadDetail:
    found = session.execute(
        select(Thread, Patient.first_name, Patient.last_name, Patient.date_of_birth, Patient.mrn)
        .outerjoin(Patient, Patient.portal_id == Thread.patient_id)
        .where(Thread.id == thread_id)
    ).first()
    if found is None:
        raise NotFoundError("No such thread here.")
    thread, first, last, dob, mrn = found
    messages = [
        ThreadMessageRow(
            m.number, m.author_kind, m.author_name, m.body, m.created_at, m.attachments
        )
        for m in session.scalars(
            select(Message).where(Message.thread_id == thread_id).order_by(Message.number)
        )
    ]
    outbox_state = {
        key: failed
        for key, failed in session.execute(
            select(OutboxEntry.idempotency_key, OutboxEntry.failed).where(
                OutboxEntry.idempotency_key.in_(
                    select(PendingReply.idempotency_key).where(PendingReply.thread_id == thread_id)
                )
            )
        )
    }
    for reply in session.scalars(
        select(PendingReply)
        .where(PendingReply.thread_id == thread_id)
        .order_by(PendingReply.created_at)
    ):
        failed = outbox_state.get(reply.idempotency_key)
        state = (
            ReplyState.SENT
            if failed is None
            else (ReplyState.FAILED if failed else ReplyState.SENDING)
        )
        messages.append(
            ThreadMessageRow(
                None, "staff", reply.author_name, reply.body, reply.created_at, [], state
            )
        )
    return ThreadDetail(
        id=thread.id,
        topic=Topic(thread.topic),
        subject=thread.subject,
        status=ThreadStatus(thread.status),
        assigned_staff_id=thread.assigned_staff_id,
        assigned_name=thread.assigned_name,
        last_number=thread.last_number,
        unread=thread.last_patient_number > thread.staff_read_number,
        patient_id=thread.patient_id,
        patient_first_name=first,
        patient_last_name=last,
        date_of_birth=dob,
        mrn=mrn,
        messages=messages,
    )


# --------------------------------------------------------------------------- actions


def _thread(session: Session, thread_id: str) -> Thread:
    thread = session.get(Thread, thread_id)
    if thread is None:
        raise NotFoundError("No such thread here.")
    return thread


def record_reply(
    session: Session, enqueue: Enqueue, thread_id: str, body: str, author_name: str
) -> OutboxItem:
    """Write a reply here and queue it for the portal in the caller's transaction.

    ``enqueue`` is the unit of work's outbox method. Raises ValueError for a body the portal
    would refuse (checked by the same wire model), NotFoundError for an unknown thread.
    """
    _thread(session, thread_id)
    client_id = str(uuid.uuid4())
    request = MessageCreate(body=body, client_id=client_id)
    item = enqueue(REPLY_TO_THREAD, {"thread_id": thread_id}, request, "Reply to a portal message")
    session.add(
        PendingReply(
            id=client_id,
            thread_id=thread_id,
            body=request.body,
            author_name=author_name,
            created_at=utcnow(),
            idempotency_key=item.idempotency_key,
        )
    )
    # The desk has read what it answers.
    session.execute(
        table_of(Thread)
        .update()
        .where(Thread.id == thread_id)
        .values(staff_read_number=Thread.last_number)
    )
    return item


def record_assign(
    session: Session, enqueue: Enqueue, thread_id: str, staff_id: str | None, staff_name: str | None
) -> OutboxItem:
    thread = _thread(session, thread_id)
    thread.assigned_staff_id, thread.assigned_name = staff_id, staff_name
    body = ThreadAssign(staff_id=staff_id)
    return enqueue(ASSIGN_THREAD, {"thread_id": thread_id}, body, "Assign a portal message")


def record_close(session: Session, enqueue: Enqueue, thread_id: str) -> OutboxItem:
    thread = _thread(session, thread_id)
    thread.status = ThreadStatus.CLOSED.value
    return enqueue(CLOSE_THREAD, {"thread_id": thread_id}, None, "Close a portal message")


def record_read(session: Session, enqueue: Enqueue, thread_id: str) -> OutboxItem | None:
    """Mark read up to the newest message held here; nothing to send when already read."""
    thread = _thread(session, thread_id)
    if thread.staff_read_number >= thread.last_number:
        return None
    thread.staff_read_number = thread.last_number
    body = ThreadRead(up_to=thread.last_number)
    return enqueue(MARK_THREAD_READ, {"thread_id": thread_id}, body, "Mark a portal message read")


# --------------------------------------------------------------------------- for the desk
# Each runs one transaction on the store; the desk's operations call them off the GUI thread.


def inbox(
    store: LocalStore,
    pool: Pool | Topic,
    staff_id: str,
    search: str = "",
    order: ThreadOrder = ThreadOrder.ACTIVITY,
    descending: bool = True,
) -> Inbox:
    with store.read() as session:
        return Inbox(
            counts=pool_counts(session, staff_id),
            threads=list_threads(
                session, pool, staff_id, search, order=order, descending=descending
            ),
        )


@dataclass(frozen=True)
class Inbox:
    counts: list[PoolCount]
    threads: list[ThreadRow]


def open_thread(store: LocalStore, thread_id: str) -> tuple[ThreadDetail, OutboxItem | None]:
    """The thread, marked read here and (queued) on the portal, so every desk's count drops."""
    with store.write() as uow:
        item = record_read(uow.session, uow.enqueue, thread_id)
        return thread_detail(uow.session, thread_id), item


def reply(store: LocalStore, thread_id: str, body: str, author_name: str) -> OutboxItem:
    with store.write() as uow:
        return record_reply(uow.session, uow.enqueue, thread_id, body, author_name)


def assign(
    store: LocalStore, thread_id: str, staff_id: str | None, staff_name: str | None
) -> OutboxItem:
    with store.write() as uow:
        return record_assign(uow.session, uow.enqueue, thread_id, staff_id, staff_name)


def close(store: LocalStore, thread_id: str) -> OutboxItem:
    with store.write() as uow:
        return record_close(uow.session, uow.enqueue, thread_id)


def arrival_thread(store: LocalStore, checkin_id: str) -> str | None:
    with store.read() as session:
        return thread_for_checkin(session, checkin_id)


def patient_messages_after(session: Session, after: int) -> tuple[int, int]:
    """(newest message key held here, patient messages with a key above `after`).

    Message keys only grow as the feed is applied, so a caller that keeps the first figure and
    passes it back next time learns how many patient messages arrived in between.
    """
    newest = session.scalar(select(func.max(Message.id))) or 0
    count = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.id > after, Message.author_kind == AuthorKind.PATIENT.value)
    )
    return int(newest), int(count or 0)
