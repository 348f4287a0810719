"""Bulk writes for large pages and imports.

SQLAlchemy's per-row parameter handling costs more than SQLite's own work for 100,000 rows, so
rows are written through :func:`visitdesk.api.sql_rows.insert_rows` (plain tuples to the driver,
many rows per statement, each value still through its column's bind processor), which the portal
shares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from visitdesk.api.sql_rows import insert_rows
from visitdesk.api.wire import ChangeItem

#: Bound parameters per `IN (...)` list; well under SQLite's limit of 32766.
CHUNK = 5000

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def delete_where_in(session: Session, table: Table, column: str, values: Sequence[Any]) -> None:
    """Delete the rows whose `column` is one of `values`, a bounded `IN (...)` list at a time."""
    for part in chunks(values):
        session.execute(delete(table).where(table.c[column].in_(part)))


def bulk_insert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: str | None = None,
    update: Sequence[str] = (),
) -> None:
    """Insert `rows` (all with the same keys); on a clash on the unique column `conflict`,
    overwrite the columns in `update` instead."""
    insert_rows(session.connection(), table, rows, conflict=conflict, update=update)


def apply_feed_rows(
    session: Session,
    table: Table,
    items: Sequence[ChangeItem],
    wire: type[BaseModel],
    fields: Sequence[str],
    *,
    key: str = "id",
    derived: Callable[[Any], dict[str, Any]] | None = None,
) -> None:
    """One kind's items of a feed page into `table`: rows of deleted items go; each upserted
    item's `fields`, read from its `wire` model (plus `derived` columns), are written or updated,
    keyed by `key` (the item's id)."""
    delete_where_in(session, table, key, [i.id for i in items if i.op == "delete"])
    rows: list[dict[str, Any]] = []
    for item in items:
        if item.op != "upsert":
            continue
        record = wire.model_validate(item.data)
        row = {name: getattr(record, name) for name in fields}
        if derived is not None:
            row.update(derived(record))
        row[key] = item.id
        rows.append(row)
    bulk_insert(session, table, rows, conflict=key, update=fields)
