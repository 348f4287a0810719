"""The per-practice change feed: appending items, reading pages.

Promises to a reader (the desk's sync engine): items of a practice come in ``seq`` order with no
gaps; a reader that asks for ``seq > after`` never misses an item that commits later with a smaller
``seq``; re-reading the same ``after`` answers the same items (idempotent re-reads).

How they are kept with concurrent writers:

- ``practices.last_seq`` is the practice's sequence. A writer takes its numbers with
  ``UPDATE practices SET last_seq = last_seq + n ... RETURNING``, which locks the practice row until
  the transaction ends. Writers of one practice therefore commit in ``seq`` order, and a reader's
  snapshot that holds seq N+1 holds seq N too: no reader can skip an item.
- The lock is the feed's only serialisation point, so it is taken as late as possible.
  :func:`append_changes` only queues items on the session; they are written by a ``before_commit``
  hook after everything else of the transaction is flushed. On PostgreSQL the sequence bump and the
  insert of all rows are ONE statement (a data-modifying CTE over one JSON array of the items),
  sent in one query string with the COMMIT: the row is held for one statement plus the commit,
  inside the server, with no round trip to the worker (whose thread may wait for the
  interpreter) in between. On SQLite writers are serialised by ``BEGIN IMMEDIATE`` anyway.
- Other plain writes of the transaction that nothing reads back before the commit can travel in
  that same query string (:func:`at_commit`): an I'm Here tap's three rows and its idempotency
  answer cost no round trips of their own.
- On PostgreSQL the same transaction sends ``NOTIFY visitdesk_feed, '<practice id>'`` (sent before
  the sequence is taken, delivered by the server only at commit, never for a rollback). Every
  worker on every host LISTENs (:mod:`visitdesk.portal.persistence.listen`) and wakes its
  long-polls of that practice (:mod:`visitdesk.portal.persistence.longpoll`), which answer all
  waiting desks from one shared read.

Batch items: a bulk ledger upsert appends ONE ``ledger_columns`` item for all the lines it
created or changed (``LedgerColumnsOut``, the lines in columns; a portal before feed level 3
wrote ``ledger_lines`` items, one object per line, which stay readable), so the feed, the
practice row's lock and a desk's pull cost the same for 5,000 lines as for one. A page ends
after its :data:`BATCH_ITEMS_PER_PAGE`-th batch and reads only those batches' data; the order and
re-read promises above hold per item as before.

Measured ceiling (``python bench/portal_load.py --feed-ceiling``: PostgreSQL 15 on the quiet
2-core development machine; one practice, 8 writer threads): about 1,300-1,400 transactions a
second with one item each, and about 35,000-38,000 items a second with 50 items per transaction.
Before the append went to the server with its COMMIT it was about 850 and 27,000-30,000: the row
stayed locked while the writer's thread waited for its process's interpreter to send the COMMIT.
The limit is the time the practice row stays locked (the append statement plus the commit's WAL
flush), so it grows with items per transaction; a bulk upsert writes thousands of items under one
lock. Practices do not limit each other.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from pydantic import BaseModel
from sqlalchemy import Table, bindparam, case, event, null, select, text, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import UpdateBase
from sqlalchemy.types import NullType

from visitdesk.api.sql_rows import insert_rows
from visitdesk.api.wire import BATCH_CHANGE_KINDS
from visitdesk.portal.persistence.db import CHANGED_PRACTICES, STAFF_CHANGED, as_utc, utcnow
from visitdesk.portal.persistence.models import Change, Practice

log = logging.getLogger(__name__)

#: The PostgreSQL NOTIFY channel; the payload is the practice id.
FEED_CHANNEL = "visitdesk_feed"
#: Key in ``Session.info``: changes queued by :func:`append_changes`, written at commit.
_PENDING = "visitdesk_pending_changes"
#: Key in ``Session.info``: statements queued by :func:`at_commit` (PostgreSQL).
_DEFERRED = "visitdesk_at_commit"


@dataclass(frozen=True)
class NewChange:
    kind: str
    entity_id: str
    data: str
    op: str = "upsert"

    @classmethod
    def of(cls, kind: str, model: BaseModel, entity_id: str, op: str = "upsert") -> NewChange:
        return cls(kind=kind, entity_id=entity_id, data=model.model_dump_json(), op=op)


def allocate_seqs(session: Session, practice_id: str, count: int) -> int:
    """Reserve ``count`` sequence numbers; returns the first. Locks the practice row."""
    last = session.execute(
        update(Practice)
        .where(Practice.id == practice_id)
        .values(last_seq=Practice.last_seq + count)
        .returning(Practice.last_seq)
    ).scalar_one()
    return int(last) - count + 1


def append_changes(session: Session, practice_id: str, changes: Sequence[NewChange]) -> None:
    """Add items to the practice's feed; they are written when the caller's transaction commits."""
    if not changes:
        return
    pending: dict[str, list[NewChange]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(practice_id, []).extend(changes)
    session.info.setdefault(CHANGED_PRACTICES, set()).add(practice_id)


# The NOTIFY, the seq bump with the insert (one statement), and the COMMIT, sent as ONE query
# string: the practice row is locked from the bump to the commit without a round trip to this
# process in between, so a worker thread waiting for the interpreter never holds it. Parameters
# are merged in by the driver's own quoting (psycopg's client-side binding), because a string
# of several statements cannot carry separate parameters.
_PG_APPEND = """
    SELECT pg_notify(%(channel)s, %(practice_id)s);
    WITH bumped AS (
        UPDATE practices SET last_seq = last_seq + %(n)s WHERE id = %(practice_id)s
        RETURNING last_seq
    )
    INSERT INTO changes (practice_id, seq, kind, op, entity_id, data, created_at)
    SELECT %(practice_id)s, bumped.last_seq - %(n)s + item.ord, item.kind, item.op,
           item.entity_id, item.data, %(created_at)s
    FROM bumped,
         ROWS FROM (
             json_to_recordset(CAST(%(items)s AS json))
                 AS (kind text, op text, entity_id text, data text)
         ) WITH ORDINALITY AS item(kind, op, entity_id, data, ord);
"""
_PG_NOTIFY = text("SELECT pg_notify(:channel, :practice_id)")


#: The payload (on :data:`FEED_CHANNEL`) telling every worker that staff sessions or roles changed.
STAFF_PAYLOAD = "staff"


def staff_changed(session: Session) -> None:
    """A staff session ended or a role changed: once this transaction commits, every worker
    forgets the live sessions it remembered for the feed (``web.deps.SessionMemo``); in this
    process through :class:`~visitdesk.portal.persistence.db.Database`, in the others (and on
    other hosts) through a NOTIFY that PostgreSQL delivers at commit."""
    session.info[STAFF_CHANGED] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_NOTIFY, {"channel": FEED_CHANNEL, "practice_id": STAFF_PAYLOAD})


def at_commit(session: Session, statement: UpdateBase, params: dict[str, Any]) -> None:
    """Run a plain INSERT or UPDATE (built once, with bound parameters) as part of this
    transaction. On PostgreSQL it is sent with the COMMIT, in the same query string as the feed
    append: a write nothing reads back before the commit costs no round trip of its own. On
    SQLite it runs now. ``params`` are taken by the driver as they are (aware datetimes)."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(statement, params)
        return
    deferred: list[tuple[UpdateBase, dict[str, Any]]] = session.info.setdefault(_DEFERRED, [])
    deferred.append((statement, params))


def _write_pending(session: Session) -> None:
    pending: dict[str, list[NewChange]] = session.info.pop(_PENDING, None) or {}
    deferred: list[tuple[UpdateBase, dict[str, Any]]] = session.info.pop(_DEFERRED, None) or []
    if not pending and not deferred:
        return
    session.flush()  # everything else of the transaction first: the row lock comes last
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        _send_with_commit(session, deferred, pending, now)
        return
    for practice_id, changes in pending.items():
        first = allocate_seqs(session, practice_id, len(changes))
        rows = [
            {
                "practice_id": practice_id,
                "seq": first + offset,
                "kind": change.kind,
                "op": change.op,
                "entity_id": change.entity_id,
                "data": change.data,
                "created_at": now,
            }
            for offset, change in enumerate(changes)
        ]
        insert_rows(session.connection(), cast(Table, Change.__table__), rows)


#: Statements of :func:`at_commit` as PostgreSQL text with ``%(name)s`` placeholders.
_PG_TEXT: dict[UpdateBase, str] = {}


def _pg_text(statement: UpdateBase, dialect: Dialect) -> str:
    text = _PG_TEXT.get(statement)
    if text is None:
        text = _PG_TEXT[statement] = f"{statement.compile(dialect=dialect)};\n"
    return text


def _send_with_commit(
    session: Session,
    deferred: list[tuple[UpdateBase, dict[str, Any]]],
    pending: dict[str, list[NewChange]],
    now: datetime,
) -> None:
    """PostgreSQL: the deferred writes, every practice's feed append and the COMMIT, in one
    round trip. SQLAlchemy's own COMMIT that follows finds the transaction ended and sends
    nothing."""
    from psycopg import ClientCursor  # PostgreSQL deployments only

    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    with ClientCursor(driver) as cursor:
        parts = [
            cursor.mogrify(_pg_text(statement, connection.dialect), params)
            for statement, params in deferred
        ]
        parts += [
            cursor.mogrify(_PG_APPEND, _append_params(practice_id, changes, now))
            for practice_id, changes in pending.items()
        ]
    parts.append("COMMIT")
    connection.exec_driver_sql("".join(parts), execution_options={"no_parameters": True})


def _append_params(practice_id: str, changes: list[NewChange], now: datetime) -> dict[str, Any]:
    return {
        "channel": FEED_CHANNEL,
        "n": len(changes),
        "practice_id": practice_id,
        "created_at": now,
        # One JSON document, not four text arrays: the driver quotes array elements with a
        # regular expression each, which cost more than the insert itself.
        "items": json.dumps(
            [
                {"kind": c.kind, "op": c.op, "entity_id": c.entity_id, "data": c.data}
                for c in changes
            ],
            ensure_ascii=False,
        ),
    }


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_DEFERRED, None)


class FeedRow(NamedTuple):
    """One item of a page, as the database gave it (a tuple: thousands per page are cheap)."""

    seq: int
    kind: str
    op: str
    entity_id: str
    data: str
    #: When the item was written, as the driver returns it (SQLite: text), for the feed-lag
    #: metric: only :attr:`written_at` of a page's newest item is ever needed.
    created_at: datetime | str | None = None

    @property
    def written_at(self) -> datetime | None:
        """:attr:`created_at` as an aware UTC datetime (as the ``UTCDateTime`` column reads)."""
        value = self.created_at
        if value is None:
            return None
        return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedRow]
    more: bool
    #: Highest seq read, shown or not: a role's client skips what it may not see only once.
    last_seq: int
    #: The page's JSON once built (:func:`page_json`): desks answered from one shared read
    #: receive the same page object, and its body is built once for all of them.
    body: list[bytes] = field(default_factory=list, compare=False, repr=False)


#: Most batch items (``BATCH_CHANGE_KINDS``, up to 5,000 records each) one page carries.
BATCH_ITEMS_PER_PAGE = 4

# ``created_at`` is read as the driver returns it: converting it on every row cost more than the
# rest of the read (see FeedRow.written_at). A batch item's data (over a megabyte) is left out
# here and read only for the batches a page keeps.
_PAGE = (
    select(
        Change.seq,
        Change.kind,
        Change.op,
        Change.entity_id,
        case((Change.kind.in_(sorted(BATCH_CHANGE_KINDS)), null()), else_=Change.data),
        type_coerce(Change.created_at, NullType()),
    )
    .where(Change.practice_id == bindparam("practice_id"), Change.seq > bindparam("after"))
    .order_by(Change.seq)
    .limit(bindparam("limit"))
)
_BATCH_DATA = select(Change.seq, Change.data).where(
    Change.practice_id == bindparam("practice_id"),
    Change.seq.in_(bindparam("seqs", expanding=True)),
)


def read_page(
    session: Session,
    practice_id: str,
    after: int,
    limit: int,
    kinds: frozenset[str] | None = None,
) -> FeedPage:
    """Up to ``limit`` changes with seq > after, in order, keeping only ``kinds`` (None: all).

    A page ends after its :data:`BATCH_ITEMS_PER_PAGE`-th batch item, so a desk far behind gets
    pages of a few megabytes. Filtering happens after the read so ``last_seq`` covers what was
    skipped, and the first query fixes the page, so it is consistent on PostgreSQL too: writers
    commit in seq order, and the batches' data is read by seq.
    """
    rows = session.execute(_PAGE, {"practice_id": practice_id, "after": after, "limit": limit + 1})
    read = [FeedRow._make(row) for row in rows]
    page = read[:limit]
    batches = [n for n, row in enumerate(page) if row.kind in BATCH_CHANGE_KINDS]
    if batches:
        if len(batches) >= BATCH_ITEMS_PER_PAGE:
            batches = batches[:BATCH_ITEMS_PER_PAGE]
            del page[batches[-1] + 1 :]
        seqs = [page[n].seq for n in batches]
        data = dict(session.execute(_BATCH_DATA, {"practice_id": practice_id, "seqs": seqs}).all())
        for n in batches:
            page[n] = page[n]._replace(data=data[page[n].seq])
    items = page if kinds is None else [row for row in page if row.kind in kinds]
    return FeedPage(items, len(read) > len(page), page[-1].seq if page else after)


@functools.lru_cache(maxsize=64)
def _quoted(name: str) -> str:
    """A kind or op (a handful of names) as a JSON string, encoded once."""
    return json.dumps(name)


def page_json(page: FeedPage) -> bytes:
    """The ChangesPage JSON, built without re-parsing each item's stored ``data``."""
    if page.body:
        return page.body[0]
    parts = [
        f'{{"seq":{item.seq},"kind":{_quoted(item.kind)},"op":{_quoted(item.op)},'
        f'"id":{json.dumps(item.entity_id)},"data":{item.data}}}'
        for item in page.items
    ]
    more_text = "true" if page.more else "false"
    body = f'{{"items":[{",".join(parts)}],"last_seq":{page.last_seq},"more":{more_text}}}'.encode()
    page.body.append(body)
    return body
