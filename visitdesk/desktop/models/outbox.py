"""Outbox queries: staff actions recorded locally, sent to the portal in order by the push worker."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.desktop.models.schema import OutboxEntry
from visitdesk.sync.store import OutboxItem

#: Longest error text kept per item; a portal error page must not bloat the database.
MAX_ERROR_CHARS = 2000

ALLOWED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def to_item(entry: OutboxEntry) -> OutboxItem:
    return OutboxItem(
        id=entry.id,
        method=entry.method,
        path=entry.path,
        body=entry.body,
        idempotency_key=entry.idempotency_key,
        description=entry.description,
        created_at=entry.created_at,
        attempts=entry.attempts,
        last_error=entry.last_error,
        failed=entry.failed,
        retryable=entry.retryable,
    )


def new_entry(
    method: str, path: str, body: dict[str, Any] | None, description: str
) -> dict[str, Any]:
    """Column values of a new outbox row (for bulk inserts); a fresh idempotency key each time."""
    method = method.upper()
    if method not in ALLOWED_METHODS:
        raise ValueError(f"only mutating calls go through the outbox, not {method}")
    if not path.startswith("/"):
        raise ValueError("outbox paths are absolute paths on the portal, e.g. /api/staff/v1/...")
    return {
        "created_at": utcnow(),
        "method": method,
        "path": path,
        "body": body,
        "idempotency_key": str(uuid.uuid4()),
        "description": description,
        "attempts": 0,
        "last_error": None,
        "failed": False,
        "retryable": True,
        "next_attempt_at": None,
    }


def enqueue(
    session: Session, method: str, path: str, body: dict[str, Any] | None, description: str
) -> OutboxItem:
    entry = OutboxEntry(**new_entry(method, path, body, description))
    session.add(entry)
    session.flush()
    return to_item(entry)


def next_item(session: Session) -> OutboxItem | None:
    entry = session.scalars(
        select(OutboxEntry).where(OutboxEntry.failed.is_(False)).order_by(OutboxEntry.id).limit(1)
    ).first()
    return None if entry is None else to_item(entry)


def _get(session: Session, item_id: int) -> OutboxEntry:
    entry = session.get(OutboxEntry, item_id)
    if entry is None:
        raise NotFoundError(f"no outbox item {item_id}")
    return entry


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
    entry = _get(session, item_id)
    entry.failed = False
    entry.retryable = True
    entry.attempts = 0
    entry.next_attempt_at = None


def discard(session: Session, item_id: int) -> None:
    _get(session, item_id)
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


def pending_items(session: Session) -> list[OutboxItem]:
    entries = session.scalars(
        select(OutboxEntry).where(OutboxEntry.failed.is_(False)).order_by(OutboxEntry.id)
    )
    return [to_item(e) for e in entries]
