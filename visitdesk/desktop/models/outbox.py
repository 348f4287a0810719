"""Outbox queries: staff actions recorded locally, sent to the portal by the push worker in the
order `visitdesk.sync.push_order` keeps."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, defer

from visitdesk.api.commands import StaffCommand, bulk_of
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.desktop.models.messages import PendingReply
from visitdesk.desktop.models.schema import OutboxEntry
from visitdesk.sync.store import OutboxItem

#: Longest error text kept per item; a portal error page must not bloat the database.
MAX_ERROR_CHARS = 2000


def to_item(entry: OutboxEntry) -> OutboxItem:
    return _item(entry, entry.body, None)


def _item(entry: OutboxEntry, body: dict[str, Any] | None, body_json: str | None) -> OutboxItem:
    return OutboxItem(
        id=entry.id,
        command=entry.command,
        params=dict(entry.params),
        body=body,
        body_json=body_json,
        idempotency_key=entry.idempotency_key,
        description=entry.description,
        created_at=entry.created_at,
        attempts=entry.attempts,
        last_error=entry.last_error,
        failed=entry.failed,
        retryable=entry.retryable,
    )


def new_entry(
    command: StaffCommand[Any],
    params: Mapping[str, str],
    body: BaseModel | None,
    description: str,
) -> dict[str, Any]:
    """Column values of a new outbox row (for bulk inserts); a fresh idempotency key each time.

    The parameters and the body are checked against the catalogue here, so a call the portal
    could never accept is refused now instead of waiting in the outbox."""
    if not (command.mutating and command.idempotent):
        raise ValueError(f"only idempotent changes go through the outbox, not {command.name}")
    return {
        "created_at": utcnow(),
        "command": command.name,
        "params": command.check_params(params),
        "body": command.dump_body(body),
        "idempotency_key": str(uuid.uuid4()),
        "description": description,
        "attempts": 0,
        "last_error": None,
        "failed": False,
        "retryable": True,
        "next_attempt_at": None,
    }


def enqueue(
    session: Session,
    command: StaffCommand[Any],
    params: Mapping[str, str],
    body: BaseModel | None,
    description: str,
) -> OutboxItem:
    entry = OutboxEntry(**new_entry(command, params, body, description))
    session.add(entry)
    session.flush()
    return to_item(entry)


def next_item(session: Session) -> OutboxItem | None:
    entry = session.scalars(
        select(OutboxEntry).where(OutboxEntry.failed.is_(False)).order_by(OutboxEntry.id).limit(1)
    ).first()
    return None if entry is None else to_item(entry)


def line(session: Session, after_id: int, exclude: Collection[int], limit: int) -> list[OutboxItem]:
    """Pending items after `after_id`, oldest first, leaving out `exclude` (the ones in flight)."""
    query = (
        select(OutboxEntry, _BODY_TEXT)
        .options(defer(OutboxEntry.body))
        .where(OutboxEntry.failed.is_(False), OutboxEntry.id > after_id)
    )
    if exclude:
        query = query.where(OutboxEntry.id.not_in(list(exclude)))
    rows = session.execute(query.order_by(OutboxEntry.id).limit(limit))
    # The text is kept for sending as it is (the column itself is deferred). A bulk batch is
    # not parsed: the push rule reads the records it names from the text (Footprint).
    items = []
    for entry, text in rows:
        if text is None or text == "null":
            items.append(_item(entry, None, None))
        else:
            bulk = bulk_of(entry.command) is not None
            items.append(_item(entry, None if bulk else json.loads(text), text))
    return items


#: The body column as its stored JSON text ("null" for an item without a body).
_BODY_TEXT = type_coerce(OutboxEntry.body, Text)


def _get(session: Session, item_id: int) -> OutboxEntry:
    entry = session.get(OutboxEntry, item_id)
    if entry is None:
        raise NotFoundError(f"no outbox item {item_id}")
    return entry


def call_of(session: Session, item_id: int) -> tuple[str, dict[str, str]] | None:
    """(command name, path parameters) of an outbox item, or None when it is gone."""
    row = session.execute(
        select(OutboxEntry.command, OutboxEntry.params).where(OutboxEntry.id == item_id)
    ).first()
    return None if row is None else (row[0], dict(row[1]))


def sent(session: Session, item_id: int) -> None:
    # Deleting a missing id is fine: the push worker may report a replayed success twice.
    session.execute(delete(OutboxEntry).where(OutboxEntry.id == item_id))


def attempt_failed(session: Session, item_id: int, message: str) -> None:
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == item_id)
        .values(attempts=OutboxEntry.attempts + 1, last_error=message[:MAX_ERROR_CHARS])
    )


def failed(session: Session, item_id: int, message: str, retryable: bool = True) -> None:
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == item_id)
        .values(
            attempts=OutboxEntry.attempts + 1,
            last_error=message[:MAX_ERROR_CHARS],
            failed=True,
            retryable=retryable,
        )
    )


def retry(session: Session, item_id: int) -> None:
    """Queue a refused or held change again; a person confirmed it now, so its age (which holds
    changes older than the portal's memory of idempotency keys) counts from now."""
    entry = _get(session, item_id)
    entry.created_at = utcnow()
    entry.failed = False
    entry.retryable = True
    entry.attempts = 0
    entry.next_attempt_at = None


def discard(session: Session, item_id: int) -> None:
    entry = _get(session, item_id)
    # A discarded reply never reaches the patient: without this it would read as sent, since a
    # reply whose outbox item is gone is taken to be on its way back through the feed.
    session.execute(
        delete(PendingReply).where(PendingReply.idempotency_key == entry.idempotency_key)
    )
    session.execute(delete(OutboxEntry).where(OutboxEntry.id == item_id))


def pending_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.failed.is_(False))
        )
        or 0
    )


def failed_items(session: Session) -> list[OutboxItem]:
    entries = session.scalars(
        select(OutboxEntry).where(OutboxEntry.failed.is_(True)).order_by(OutboxEntry.id)
    )
    return [to_item(e) for e in entries]


def pending_params(session: Session, command: StaffCommand[Any], name: str) -> set[str]:
    """The path parameter `name` of every pending (not failed) item of `command`."""
    rows = session.scalars(
        select(OutboxEntry.params).where(
            OutboxEntry.failed.is_(False), OutboxEntry.command == command.name
        )
    )
    return {params[name] for params in rows if name in params}


def pending_items(session: Session) -> list[OutboxItem]:
    entries = session.scalars(
        select(OutboxEntry).where(OutboxEntry.failed.is_(False)).order_by(OutboxEntry.id)
    )
    return [to_item(e) for e in entries]


def decision_refused(outbox_id: InstrumentedAttribute[int | None]) -> ColumnElement[bool]:
    """The decision recorded with outbox item `outbox_id` was refused by the portal."""
    return exists().where(OutboxEntry.id == outbox_id, OutboxEntry.failed.is_(True))


def awaiting_decision(
    pending: ColumnElement[bool],
    outbox_id: InstrumentedAttribute[int | None],
    decided_here_at: InstrumentedAttribute[datetime | None],
    now: datetime,
    grace: timedelta,
) -> ColumnElement[bool]:
    """Still waiting for someone here: `pending` on the portal, and no decision taken here, or
    the portal refused it, or it left the outbox more than `grace` ago without the feed
    confirming it (so a decision lost on the way shows again)."""
    live = exists().where(OutboxEntry.id == outbox_id)
    return and_(
        pending,
        or_(
            outbox_id.is_(None),
            decision_refused(outbox_id),
            and_(~live, decided_here_at < now - grace),
        ),
    )
