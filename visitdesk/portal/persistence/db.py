"""Database plumbing: engine, sessions, the shared metadata and portable column types.

Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead
of failing when one tries to upgrade a read snapshot; PostgreSQL needs nothing special (writers
serialise on the practice's sequence row, see :mod:`visitdesk.portal.persistence.feed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_WRITE_OPTION = "visitdesk_write"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str) -> Engine:
    """An engine for the portal; statement parameters (PHI) never appear in error messages."""
    kwargs: dict[str, Any] = {"hide_parameters": True, "pool_pre_ping": True}
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so we can emit BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                # 64 MiB of pages (the default is 2 MiB): bulk upserts into large tables touch
                # index pages all over them, and cached pages are written once per transaction.
                cursor.execute("PRAGMA cache_size=-65536")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The portal's engine plus read and write session factories.

    ``on_practice_changed`` is called (outside the transaction, after commit) with each practice
    whose change feed grew, so long-polls can be woken.
    """

    def __init__(
        self, engine: Engine, on_practice_changed: Callable[[str], None] | None = None
    ) -> None:
        self.engine = engine
        self.on_practice_changed = on_practice_changed
        self._read = sessionmaker(engine, expire_on_commit=False)
        write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate_schema(self) -> bool:
        """Create or upgrade the schema with the shipped migrations; True if anything changed."""
        from visitdesk.portal.persistence import migrate

        with self.engine.execution_options(**{_WRITE_OPTION: True}).begin() as connection:
            return migrate.upgrade(connection)

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Closing (not rolling back) ends the transaction but leaves loaded objects readable.
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        with self._write() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            changed: set[str] = session.info.pop(CHANGED_PRACTICES, set())
        if changed and self.on_practice_changed is not None:
            for practice_id in changed:
                self.on_practice_changed(practice_id)

    def dispose(self) -> None:
        self.engine.dispose()


#: Key in ``Session.info`` collecting the practices whose feed grew in this transaction.
CHANGED_PRACTICES = "visitdesk_changed_practices"
