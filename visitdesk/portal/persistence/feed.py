"""The per-practice change feed: appending items, reading pages, waking long-polls.

Sequence numbers come from ``practices.last_seq``, bumped with ``UPDATE ... RETURNING`` in the same
transaction that writes the change rows. The bump locks the practice row until commit, so a
practice's writers commit in sequence order and a reader never sees seq N+1 before seq N.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from pydantic import BaseModel
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from visitdesk.portal.persistence.db import CHANGED_PRACTICES
from visitdesk.portal.persistence.models import Change, Practice

log = logging.getLogger(__name__)


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
    """Add items to the practice's feed inside the caller's transaction."""
    if not changes:
        return
    first = allocate_seqs(session, practice_id, len(changes))
    rows = [
        {
            "practice_id": practice_id,
            "seq": first + offset,
            "kind": change.kind,
            "op": change.op,
            "entity_id": change.entity_id,
            "data": change.data,
        }
        for offset, change in enumerate(changes)
    ]
    session.execute(insert(cast(Table, Change.__table__)), rows)
    session.info.setdefault(CHANGED_PRACTICES, set()).add(practice_id)


@dataclass(frozen=True)
class FeedRow:
    seq: int
    kind: str
    op: str
    entity_id: str
    data: str


def read_page(
    session: Session, practice_id: str, after: int, limit: int
) -> tuple[list[FeedRow], bool]:
    """Items with seq > after in order, at most ``limit``; plus whether more are waiting."""
    rows = session.execute(
        select(Change.seq, Change.kind, Change.op, Change.entity_id, Change.data)
        .where(Change.practice_id == practice_id, Change.seq > after)
        .order_by(Change.seq)
        .limit(limit + 1)
    ).all()
    items = [FeedRow(int(r.seq), r.kind, r.op, r.entity_id, r.data) for r in rows[:limit]]
    return items, len(rows) > limit


def page_json(items: Sequence[FeedRow], after: int, more: bool) -> bytes:
    """The ChangesPage JSON, built without re-parsing each item's stored ``data``."""
    parts = [
        f'{{"seq":{item.seq},"kind":{json.dumps(item.kind)},"op":{json.dumps(item.op)},'
        f'"id":{json.dumps(item.entity_id)},"data":{item.data}}}'
        for item in items
    ]
    last_seq = items[-1].seq if items else after
    more_text = "true" if more else "false"
    return f'{{"items":[{",".join(parts)}],"last_seq":{last_seq},"more":{more_text}}}'.encode()


class ChangeNotifier:
    """Wakes long-polls of a practice when its feed grows; safe to call from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}
        self._closed = threading.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def bind_if_unbound(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is None or self._loop.is_closed():
            self._loop = loop

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def event_for(self, practice_id: str) -> asyncio.Event:
        """The event the next change of ``practice_id`` sets. Get it BEFORE reading the feed."""
        event = self._events.get(practice_id)
        if event is None:
            event = self._events[practice_id] = asyncio.Event()
        return event

    def notify(self, practice_id: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closed meanwhile (shutdown)
            loop.call_soon_threadsafe(self._wake, practice_id)

    def close(self) -> None:
        """Release every waiter (server shutting down); waits end with an empty page."""
        self._closed.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_all)

    def _wake(self, practice_id: str) -> None:
        event = self._events.pop(practice_id, None)
        if event is not None:
            event.set()

    def _wake_all(self) -> None:
        events, self._events = self._events, {}
        for event in events.values():
            event.set()
