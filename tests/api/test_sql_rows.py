"""insert_rows on SQLite and PostgreSQL: what is stored, and errors as SQLAlchemy raises them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)
from sqlalchemy.exc import IntegrityError

from tests.backends import BACKENDS, backend_url
from visitdesk.api.sql_rows import insert_rows

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


def test_rows_arrive_as_given(engine: Engine) -> None:
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
            insert_rows(connection, table, rows)
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


def test_many_rows_and_an_upsert_over_them(engine: Engine) -> None:
    # More rows than one SQLite statement takes (its parameter limit over four columns).
    table = _table()
    table.create(engine)
    try:
        when = datetime.now(UTC)
        rows = [{"id": n, "name": f"n{n}", "day": None, "at": when} for n in range(20_000)]
        with engine.begin() as connection:
            insert_rows(connection, table, rows)
            insert_rows(
                connection,
                table,
                [{**row, "name": f"again {row['id']}"} for row in rows[::-1]] + [rows[0]],
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
