"""insert_rows and insert_columns on SQLite and PostgreSQL: what is stored, and errors as
SQLAlchemy raises them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    create_engine,
    select,
)
from sqlalchemy.exc import IntegrityError

from tests.backends import BACKENDS, backend_url
from visitdesk.api.sql_rows import insert_columns, insert_rows

HOSTILE = 'tab\there, new\nline, back\\slash, "quotes", \u202eRLO, \U0001f600, NULL, \\N'


def _table() -> Table:
    return Table(
        f"sql_rows_{uuid.uuid4().hex[:12]}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(200)),
        Column("day", Date, nullable=True),
        Column("at", DateTime(timezone=True)),
    )


def _insert(
    connection: Connection, table: Table, rows: list[dict[str, Any]], given: str, **kw: Any
) -> None:
    """`rows` through insert_rows, or (given "columns") the same rows through insert_columns."""
    if given == "rows":
        insert_rows(connection, table, rows, **kw)
    else:
        insert_columns(connection, table, {k: [row[k] for row in rows] for k in rows[0]}, **kw)


GIVEN = ("rows", "columns")


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = backend_url(request.param, tmp_path_factory, "rows")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.parametrize("given", GIVEN)
def test_rows_arrive_as_given(engine: Engine, given: str) -> None:
    table = _table()
    table.create(engine)
    try:
        when = datetime(2026, 12, 3, 21, 40, tzinfo=UTC)
        rows = [
            {
                "id": n,
                "name": f"{HOSTILE} {n}",
                "day": None if n % 2 else date(2026, 1, n + 1),
                "at": when,
            }
            for n in range(5)
        ]
        with engine.begin() as connection:
            _insert(connection, table, rows, given)
        with engine.connect() as connection:
            stored = [
                dict(r._mapping) for r in connection.execute(select(table).order_by(table.c.id))
            ]
        assert [(r["id"], r["name"], r["day"]) for r in stored] == [
            (r["id"], r["name"], r["day"]) for r in rows
        ]
        assert {
            r["at"].replace(tzinfo=UTC) if r["at"].tzinfo is None else r["at"] for r in stored
        } == {when}
    finally:
        table.drop(engine)


def test_a_clash_is_an_integrity_error_and_the_connection_stays_usable(engine: Engine) -> None:
    table = _table()
    table.create(engine)
    try:
        row = {"id": 1, "name": "a", "day": None, "at": datetime.now(UTC)}
        with engine.begin() as connection:
            insert_rows(connection, table, [row])
        with pytest.raises(IntegrityError), engine.begin() as connection:
            insert_rows(connection, table, [{**row, "id": 2}, row])
        with engine.begin() as connection:
            insert_rows(connection, table, [{**row, "id": 3}])
            assert connection.scalar(select(table.c.id).where(table.c.id == 2)) is None
            assert sorted(connection.scalars(select(table.c.id))) == [1, 3]
    finally:
        table.drop(engine)


def test_unknown_columns_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="not columns"), engine.begin() as connection:
        insert_rows(connection, _table(), [{"id; DROP TABLE x": 1}])


@pytest.mark.parametrize("given", GIVEN)
def test_many_rows_and_an_upsert_over_them(engine: Engine, given: str) -> None:
    # More rows than one SQLite statement takes (its parameter limit over four columns).
    table = _table()
    table.create(engine)
    try:
        when = datetime.now(UTC)
        rows = [{"id": n, "name": f"n{n}", "day": None, "at": when} for n in range(20_000)]
        with engine.begin() as connection:
            _insert(connection, table, rows, given)
            _insert(
                connection,
                table,
                [{**row, "name": f"again {row['id']}"} for row in rows[::-1]] + [rows[0]],
                given,
                conflict="id",
                update=["name"],
            )
        with engine.connect() as connection:
            names = dict(connection.execute(select(table.c.id, table.c.name)).all())
        assert len(names) == 20_000
        assert names[0] == "n0"  # the last row of the upsert names id 0 again
        assert {names[n] for n in range(1, 20_000)} == {f"again {n}" for n in range(1, 20_000)}
    finally:
        table.drop(engine)


class _Tagged(TypeDecorator[str]):
    """Stores a value with the name of its type, so a test sees what the processor was given."""

    impl = String(200)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str:
        return f"{type(value).__name__}:{value}"


def test_columns_go_through_their_processor_by_type_and_value_and_take_shared_values(
    engine: Engine,
) -> None:
    table = Table(
        f"sql_columns_{uuid.uuid4().hex[:12]}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("tag", _Tagged),
        Column("doc", JSON),
        Column("day", Date),
        Column("source", String(16)),
    )
    table.create(engine)
    try:
        tags = [1, True, 1.0, 1, "1", True]  # equal values of different types
        docs = [[n, {"k": HOSTILE}] for n in range(6)]  # values no dictionary can key
        with engine.begin() as connection:
            insert_columns(
                connection,
                table,
                {"id": list(range(6)), "tag": tags, "doc": docs},
                same={"day": date(2026, 12, 4), "source": "import"},
            )
        with engine.connect() as connection:
            stored = connection.execute(select(table).order_by(table.c.id)).all()
        assert [row.tag for row in stored] == [
            "int:1",
            "bool:True",
            "float:1.0",
            "int:1",
            "str:1",
            "bool:True",
        ]
        assert [row.doc for row in stored] == docs
        assert {(row.day, row.source) for row in stored} == {(date(2026, 12, 4), "import")}
    finally:
        table.drop(engine)


def test_columns_of_different_lengths_or_unknown_names_are_refused(engine: Engine) -> None:
    table = _table()
    with pytest.raises(ValueError, match="differ in length"), engine.begin() as connection:
        insert_columns(connection, table, {"id": [1, 2], "name": ["a"]})
    with pytest.raises(ValueError, match="not columns"), engine.begin() as connection:
        insert_columns(connection, table, {"id": [1]}, same={"id; DROP TABLE x": 1})
    with engine.begin() as connection:
        insert_columns(connection, table, {"id": [], "name": []})  # nothing to write: no SQL
