"""Inserting many rows without SQLAlchemy's per-row work, for bulk imports and feed pages.

SQLAlchemy's per-row parameter handling (a dictionary per row, then each column's processor) costs
more than the database's own work for thousands of rows. :func:`insert_rows` builds one INSERT
(optionally ``... ON CONFLICT DO UPDATE``) and hands plain tuples to the driver. Values still go
through each column type's bind processor, so what is stored is exactly what the ORM would have
written; a value equal to (and of the same type as) the one of the row before is processed once,
which spares a column that holds one value for the whole batch (its ``updated_at``).

This module imports nothing of ours: the desk's local store and the portal both use it, on SQLite
(``?`` placeholders) and on PostgreSQL through psycopg (``%s``, and ``COPY`` for plain inserts).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, repeat
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: str | None = None,
    update: Sequence[str] = (),
) -> None:
    """Insert `rows` (all with the same keys) into `table`; on a clash on the unique column
    `conflict`, overwrite the columns in `update` instead (or keep the row when none are given)."""
    if not rows:
        return
    columns = list(rows[0])
    processors = _processors(connection, table, columns)
    params: list[tuple[Any, ...]] = []
    done: dict[int, tuple[Any, Any]] = {}  # column index -> (value, processed) of the last row
    for row in rows:
        values = [row[c] for c in columns]
        for index, processor in processors.items():
            value = values[index]
            last = done.get(index)
            if last is not None and type(last[0]) is type(value) and last[0] == value:
                values[index] = last[1]
            else:
                processed = processor(value)
                done[index] = (value, processed)
                values[index] = processed
        params.append(tuple(values))
    _insert(connection, table, columns, params, conflict, update)


def insert_columns(
    connection: Connection,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    same: Mapping[str, Any] | None = None,
    conflict: str | None = None,
    update: Sequence[str] = (),
) -> None:
    """:func:`insert_rows` for rows given in columns: the n-th row is the n-th value of every
    column in `columns`, and the values in `same` (one per column, the same in every row).

    A batch that arrives in columns goes in without a dictionary per row: the rows are zipped
    from the columns, and each column goes through its bind processor in one pass."""
    same = dict(same or {})
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError("the columns differ in length")
    count = lengths.pop() if lengths else 0
    if not count:
        return
    names = [*columns, *same]
    processors = _processors(connection, table, names)
    lists: list[Iterable[Any]] = []
    for index, name in enumerate(names):
        processor = processors.get(index)
        if name in same:
            value = same[name] if processor is None else processor(same[name])
            lists.append(repeat(value, count))
        elif processor is None:
            lists.append(columns[name])
        else:
            lists.append(_processed(processor, columns[name]))
    _insert(connection, table, names, list(zip(*lists, strict=True)), conflict, update)


def _processed(processor: Any, values: Sequence[Any]) -> list[Any]:
    """`values` through their column's bind processor, each distinct value once (a column of
    dates holds few days, a batch's ``updated_at`` one time). Values are told apart by type as
    well as by value, so ``True`` is never taken for ``1``; a column holding a value that is not
    hashable goes through value by value."""
    keys = list(zip(map(type, values), values, strict=True))
    try:
        done = {key: processor(key[1]) for key in set(keys)}
    except TypeError:  # a value that cannot be a dictionary's key (a JSON column's list)
        return list(map(processor, values))
    return list(map(done.__getitem__, keys))


def _processors(connection: Connection, table: Table, columns: Sequence[str]) -> dict[int, Any]:
    """Each column's bind processor (by its index in `columns`), where its type has one."""
    dialect = connection.dialect
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"not columns of {table.name}: {sorted(unknown)}")
    return {
        index: processor
        for index, name in enumerate(columns)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        is not None
    }


def _insert(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    params: list[tuple[Any, ...]],
    conflict: str | None,
    update: Sequence[str],
) -> None:
    """The INSERT of `params` (tuples of processed values of `columns`) in the dialect's way."""
    dialect = connection.dialect
    mark = _MARKS.get(dialect.paramstyle)
    if mark is None:
        raise ValueError(f"no bulk insert for the {dialect.paramstyle!r} parameter style")
    quote = dialect.identifier_preparer.quote
    unknown = {*update, *([conflict] if conflict else [])} - set(table.c.keys())
    if unknown:
        raise ValueError(f"not columns of {table.name}: {sorted(unknown)}")
    # Only identifiers from our own metadata (checked, and quoted) go into the text; every
    # value is a bound parameter.
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join([mark] * len(columns))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    if conflict is not None:
        sql += f" ON CONFLICT ({quote(conflict)}) DO "
        if update:
            sql += "UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
        else:
            sql += "NOTHING"
    if dialect.name == "sqlite":
        _many_values(connection, sql, f"({marks})", len(columns), params)
    elif conflict is None and dialect.name == "postgresql":
        _copy(connection, f"COPY {quote(table.name)} ({names}) FROM STDIN", params)
    else:
        connection.exec_driver_sql(sql, params)


def _many_values(
    connection: Connection, sql: str, one_row: str, width: int, params: list[tuple[Any, ...]]
) -> None:
    """SQLite: as many rows per INSERT as its parameter limit allows. The driver's executemany
    gives up the interpreter lock for every row; with another thread of the process busy, taking
    it back made 5,000 rows cost 300 ms instead of 20 (one statement per 1,900 rows: 40)."""
    driver = connection.connection.driver_connection
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if driver is not None else 999
    per_statement = max(1, limit // width)
    head, _, tail = sql.partition(f"VALUES {one_row}")
    for start in range(0, len(params), per_statement):
        part = params[start : start + per_statement]
        values = ", ".join([one_row] * len(part))
        flat = tuple(chain.from_iterable(part))
        connection.exec_driver_sql(f"{head}VALUES {values}{tail}", flat)


def _copy(connection: Connection, sql: str, params: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows through COPY, in the connection's transaction. An executemany of
    5,000 rows kept the server busy with one INSERT per row for most of a bulk upsert."""
    driver = connection.connection.driver_connection
    assert driver is not None
    dialect = connection.dialect
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in params:
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy raises for its own statements: a unique clash is an IntegrityError the
        # caller may retry on, a lost connection is not handed out again.
        gone = dialect.is_disconnect(exc, driver, None)
        if gone:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=gone,
            dialect=dialect,
        ) from exc
