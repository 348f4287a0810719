"""Database plumbing: engine, sessions, the shared metadata and portable column types.

Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead
of failing when one tries to upgrade a read snapshot; PostgreSQL needs nothing special (writers
serialise on the practice's sequence row, see :mod:`visitdesk.portal.persistence.feed`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
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


def column_values(row: Base) -> dict[str, Any]:
    """Every column of a (not yet added) row, for a plain INSERT built once."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


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
        return None if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    """A stored datetime as an aware UTC one (SQLite keeps no offset: its values are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class PoolSettings:
    """How many connections one worker process may hold; see :func:`plan_pool`."""

    pool_size: int = 10
    max_overflow: int = 0
    timeout: float = 10.0


@dataclass(frozen=True)
class ConnectionBudget:
    """The deployment's share of the database server, split over every portal process."""

    processes: int = 1
    budget: int | None = None
    reserved: int = 10
    pool_size: int | None = None
    max_overflow: int = 0
    timeout: float = 10.0
    #: Connections each process keeps outside its pool (the LISTEN connection).
    extra_per_process: int = 1


def server_max_connections(url: str) -> int:
    """PostgreSQL's ``max_connections`` (one short-lived connection, outside any pool)."""
    engine = create_engine(url, poolclass=NullPool, connect_args=_pg_connect_args(url))
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SHOW max_connections").scalar_one())
    finally:
        engine.dispose()


def plan_pool(url: str, budget: ConnectionBudget) -> PoolSettings:
    """Size one worker's pool so all processes together stay inside the server's connections.

    Each process gets ``(budget - reserved) / processes`` connections, less the ones it keeps
    outside the pool; an explicit ``pool_size`` wins. Requests that find the pool empty wait
    ``timeout`` seconds and then get 503, which is what a saturated database should answer.
    """
    if budget.pool_size is not None or url.startswith("sqlite"):
        size = budget.pool_size or 10
        return PoolSettings(size, budget.max_overflow, budget.timeout)
    total = budget.budget
    if total is None:
        total = server_max_connections(url) - budget.reserved
    per_process = total // budget.processes - budget.extra_per_process - budget.max_overflow
    if per_process < 1:
        log.warning(
            "connection budget %d is too small for %d processes; using 1 connection each",
            total,
            budget.processes,
        )
        per_process = 1
    return PoolSettings(per_process, budget.max_overflow, budget.timeout)


def _pg_connect_args(url: str) -> dict[str, Any]:
    # No server-side prepared statements: behind PgBouncer in transaction mode consecutive
    # statements may run on different server connections, which would not know them.
    return {"prepare_threshold": None} if url.startswith("postgresql+psycopg") else {}


def make_engine(url: str, pool: PoolSettings | None = None) -> Engine:
    """An engine for the portal; statement parameters (PHI) never appear in error messages."""
    pool = pool or PoolSettings()
    kwargs: dict[str, Any] = {
        "hide_parameters": True,
        "pool_size": pool.pool_size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.timeout,
    }
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            for key in ("pool_size", "max_overflow", "pool_timeout"):
                kwargs.pop(key)
    else:
        kwargs["connect_args"] = _pg_connect_args(url)
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        _configure_sqlite(engine)
    else:
        _ping_when_idle(engine)
    return engine


#: A pooled connection idle longer than this is checked before use (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "visitdesk_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection with a round trip only when it sat idle for a while.

    A connection the server dropped (restart, failover, an idle timeout on the way) is found
    and replaced before a request uses it. One handed back moments ago is not checked: under
    load that is nearly every checkout, and the check would cost a round trip each time.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise sa_exc.DisconnectionError("pooled connection was dropped by the server") from exc


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
                # FULL: a commit the portal has answered survives a power cut, not only a crash.
                cursor.execute("PRAGMA synchronous=FULL")
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
        #: Called after a commit that ended staff sessions or changed a role.
        self.on_staff_changed: Callable[[], None] | None = None
        read_engine = engine
        if engine.dialect.name == "postgresql":
            # Reads need no transaction of their own: under READ COMMITTED every statement sees
            # its own snapshot anyway, and without one a read costs one round trip, not three
            # (BEGIN, the statement, ROLLBACK). Setting autocommit is the driver's flag only.
            read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(read_engine, expire_on_commit=False)
        write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, pool: PoolSettings | None = None) -> Database:
        return cls(make_engine(url, pool))

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
            staff_changed = bool(session.info.pop(STAFF_CHANGED, False))
        if staff_changed and self.on_staff_changed is not None:
            self.on_staff_changed()
        if changed and self.on_practice_changed is not None:
            for practice_id in changed:
                self.on_practice_changed(practice_id)

    def dispose(self) -> None:
        self.engine.dispose()


#: Key in ``Session.info`` collecting the practices whose feed grew in this transaction.
CHANGED_PRACTICES = "visitdesk_changed_practices"
#: Key in ``Session.info``: this transaction ended staff sessions or changed a role.
STAFF_CHANGED = "visitdesk_staff_changed"


#: SQLSTATE classes and codes that mean "the database is busy or away", not "our bug": insufficient
#: resources (53: too many connections, out of memory or disk), connection exceptions (08),
#: operator intervention (57P: shutting down, starting up), and retryable conflicts.
_BUSY_SQLSTATES = ("53", "08", "57P", "40001", "40P01", "55P03")


def is_database_busy(exc: BaseException) -> bool:
    """True when ``exc`` means the database is saturated or unreachable (answer 503, not 500)."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if isinstance(exc, sa_exc.OperationalError):
        return True  # connect failures, "too many clients", SQLite "database is locked"
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return bool(sqlstate) and sqlstate.startswith(_BUSY_SQLSTATES)
