"""Key-value rows of `sync_state`: feed position, last sync time, practice metadata."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from visitdesk.desktop.models.schema import SyncState, table_of

LAST_SEQ = "last_seq"
LAST_SYNC_AT = "last_sync_at"


def get(session: Session, key: str) -> str | None:
    return session.scalar(select(SyncState.value).where(SyncState.key == key))


def get_many(session: Session, keys: list[str]) -> dict[str, str]:
    rows = session.execute(select(SyncState.key, SyncState.value).where(SyncState.key.in_(keys)))
    return {key: value for key, value in rows}


def put(session: Session, key: str, value: str) -> None:
    put_many(session, {key: value})


def put_many(session: Session, values: Mapping[str, str]) -> None:
    if not values:
        return
    stmt = sqlite_insert(table_of(SyncState))
    stmt = stmt.on_conflict_do_update(
        index_elements=[SyncState.key], set_={"value": stmt.excluded.value}
    )
    session.execute(stmt, [{"key": k, "value": v} for k, v in values.items()])


def delete(session: Session, key: str) -> None:
    row = session.get(SyncState, key)
    if row is not None:
        session.delete(row)
