"""`LocalStore`: the desktop's SQLite database, safe to share between threads.

One SQLAlchemy engine, a short-lived Session per call. SQLite allows one writer at a time, so every
write goes through one lock and opens its transaction with BEGIN IMMEDIATE; readers never wait for
writers (WAL). Callers that need several writes to stick together, such as a change plus its outbox
item, use `LocalStore.write()`, a unit of work that commits once at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, event, exc, func, select
from sqlalchemy.orm import Session

from visitdesk.api.commands import StaffCommand
from visitdesk.api.wire import ChangeItem, CheckInStatus, PracticeInfo
from visitdesk.desktop.models import board, migrate, outbox, reconcile, state
from visitdesk.desktop.models.board import CheckInRow
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.errors import StoreUnavailableError
from visitdesk.desktop.models.paths import default_data_dir as default_data_dir
from visitdesk.desktop.models.paths import store_path_for as store_path_for
from visitdesk.desktop.models.schema import Appointment, CheckIn, Patient
from visitdesk.sync.store import OutboxItem

#: Page cache per connection, in KiB.
CACHE_KIB = 64 * 1024
BUSY_TIMEOUT_MS = 10_000

_PRACTICE_KEYS = {
    "id": "practice.id",
    "code": "practice.code",
    "name": "practice.name",
    "timezone": "practice.timezone",
    "portal_url": "practice.portal_url",
}

# sqlite3 messages that mean "the environment", not "our bug".
_ENVIRONMENT_ERRORS = (
    "database or disk is full",
    "disk i/o error",
    "database is locked",
    "file is not a database",
    "database disk image is malformed",
    "attempt to write a readonly database",
    "unable to open database file",
)


@dataclass(frozen=True)
class PracticeMeta:
    """Which practice, on which portal, this database belongs to."""

    id: str
    code: str
    name: str
    timezone: str
    portal_url: str


class UnitOfWork:
    """One write transaction: `session` for changes, `enqueue` for the outbox; committed together."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self,
        command: StaffCommand[Any],
        params: Mapping[str, str],
        body: BaseModel | None,
        description: str,
    ) -> OutboxItem:
        """Record a catalogue command to send once this transaction commits (with a fresh
        idempotency key), e.g. `enqueue(SET_CHECKIN_STATUS, {"checkin_id": id}, body, ...)`."""
        return outbox.enqueue(self.session, command, params, body, description)


def _translate(error: exc.OperationalError) -> StoreUnavailableError | None:
    text = str(error.orig).lower()
    if any(marker in text for marker in _ENVIRONMENT_ERRORS):
        return StoreUnavailableError(f"The local database cannot be used: {error.orig}")
    return None


class LocalStore:
    """The local store. Create with `LocalStore.open(path)`; implements `sync.store.SyncStore`."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self._engine = engine
        self.path = path
        self._write_lock = threading.RLock()
        self._local = threading.local()
        event.listen(engine, "begin", self._on_begin)

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def open(cls, path: Path) -> LocalStore:
        """Open (creating or migrating as needed) the database at `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _on_connect)
        store = cls(engine, path)
        try:
            migrate.upgrade(engine, path)
        except exc.OperationalError as error:
            engine.dispose()
            raise _translate(error) or error from error
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        with self._write_lock:
            self._engine.dispose()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    def _on_begin(self, conn: Any) -> None:
        # pysqlite's own transaction handling is off (see _on_connect); we emit BEGIN ourselves.
        # Writers take the write lock first and start with IMMEDIATE so they never fail half-way
        # on a lock upgrade; readers get a consistent snapshot without blocking anyone.
        immediate = getattr(self._local, "immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only Session over one consistent snapshot."""
        try:
            with Session(self._engine, expire_on_commit=False) as session:
                yield session
        except exc.OperationalError as error:
            raise _translate(error) or error from error

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        """One write transaction, serialised with all other writers; commits on normal exit,
        rolls back on an exception."""
        with self._write_lock:
            if getattr(self._local, "in_write", False):
                raise RuntimeError("LocalStore.write() is not re-entrant; pass the UnitOfWork on")
            self._local.in_write = True
            try:
                with Session(self._engine, expire_on_commit=False) as session, session.begin():
                    self._local.immediate = True
                    try:
                        session.connection()  # BEGIN IMMEDIATE now, while we hold the lock
                    finally:
                        self._local.immediate = False
                    yield UnitOfWork(session)
            except exc.OperationalError as error:
                raise _translate(error) or error from error
            finally:
                self._local.in_write = False

    # ------------------------------------------------------------------ SyncStore

    def last_seq(self) -> int:
        with self.read() as s:
            value = state.get(s, state.LAST_SEQ)
        return int(value) if value else 0

    def apply_changes(self, items: Sequence[ChangeItem], last_seq: int) -> set[str]:
        """Apply one page of the feed and store its `last_seq`, in one transaction."""
        return self.apply_pages([(items, last_seq)])

    def apply_pages(self, pages: Iterable[tuple[Sequence[ChangeItem], int]]) -> set[str]:
        kinds: set[str] = set()
        with self.write() as uow:
            last_seq: int | None = None
            for items, seq in pages:
                kinds |= reconcile.apply_page(uow.session, items)
                last_seq = seq
            if last_seq is not None:
                state.put_many(
                    uow.session,
                    {state.LAST_SEQ: str(last_seq), state.LAST_SYNC_AT: utcnow().isoformat()},
                )
        return kinds

    def next_outbox_item(self) -> OutboxItem | None:
        with self.read() as s:
            return outbox.next_item(s)

    def outbox_line(self, after_id: int, exclude: Collection[int], limit: int) -> list[OutboxItem]:
        with self.read() as s:
            return outbox.line(s, after_id, exclude, limit)

    def outbox_sent(self, item_id: int, response: Any) -> set[str]:
        with self.write() as uow:
            call = outbox.call_of(uow.session, item_id)
            outbox.sent(uow.session, item_id)
            return set() if call is None else reconcile.settle(uow.session, *call, response)

    def outbox_attempt_failed(self, item_id: int, message: str) -> None:
        with self.write() as uow:
            outbox.attempt_failed(uow.session, item_id, message)

    def outbox_failed(self, item_id: int, message: str, retryable: bool = True) -> set[str]:
        with self.write() as uow:
            outbox.failed(uow.session, item_id, message, retryable)
            call = outbox.call_of(uow.session, item_id)
            return set() if call is None else reconcile.settle(uow.session, *call)

    def outbox_pending_count(self) -> int:
        with self.read() as s:
            return outbox.pending_count(s)

    # ------------------------------------------------------------------ outbox for the user

    def enqueue(
        self,
        command: StaffCommand[Any],
        params: Mapping[str, str],
        body: BaseModel | None,
        description: str,
    ) -> OutboxItem:
        """Record one portal call on its own; use `write()` to combine it with local changes."""
        with self.write() as uow:
            return uow.enqueue(command, params, body, description)

    def pending_outbox_items(self) -> list[OutboxItem]:
        with self.read() as s:
            return outbox.pending_items(s)

    def failed_outbox_items(self) -> list[OutboxItem]:
        with self.read() as s:
            return outbox.failed_items(s)

    def retry_outbox_item(self, item_id: int) -> None:
        """Put a failed item back in line (keeping its place and its idempotency key)."""
        with self.write() as uow:
            outbox.retry(uow.session, item_id)

    def discard_outbox_item(self, item_id: int) -> None:
        with self.write() as uow:
            call = outbox.call_of(uow.session, item_id)
            outbox.discard(uow.session, item_id)
            if call is not None:
                reconcile.settle(uow.session, *call)

    # ------------------------------------------------------------------ sync state

    def mark_synced_now(self) -> None:
        self.set_state(state.LAST_SYNC_AT, utcnow().isoformat())

    def last_sync_at(self) -> datetime | None:
        value = self.get_state(state.LAST_SYNC_AT)
        return None if value is None else datetime.fromisoformat(value)

    def get_state(self, key: str) -> str | None:
        with self.read() as s:
            return state.get(s, key)

    def set_state(self, key: str, value: str) -> None:
        with self.write() as uow:
            state.put(uow.session, key, value)

    def practice(self) -> PracticeMeta | None:
        """The practice this database belongs to; None until `set_practice` was called."""
        with self.read() as s:
            values = state.get_many(s, list(_PRACTICE_KEYS.values()))
        if len(values) < len(_PRACTICE_KEYS):
            return None
        return PracticeMeta(**{field: values[key] for field, key in _PRACTICE_KEYS.items()})

    def set_practice(
        self, meta: PracticeMeta | PracticeInfo, portal_url: str | None = None
    ) -> None:
        """Store the practice metadata: a PracticeMeta, or the portal's PracticeInfo plus the
        portal URL it came from."""
        if isinstance(meta, PracticeInfo):
            if portal_url is None:
                raise TypeError("set_practice(PracticeInfo, portal_url): the portal URL is needed")
            meta = PracticeMeta(meta.id, meta.code, meta.name, meta.timezone, portal_url)
        with self.write() as uow:
            state.put_many(
                uow.session, {key: getattr(meta, field) for field, key in _PRACTICE_KEYS.items()}
            )

    # ------------------------------------------------------------------ check-in board

    def checkins_for_day(self, day_start_utc: datetime, day_end_utc: datetime) -> list[CheckInRow]:
        """Check-ins that arrived in [day_start_utc, day_end_utc), in arrival order."""
        with self.read() as s:
            return board.checkins_between(s, day_start_utc, day_end_utc)

    def checkin(self, checkin_id: str) -> CheckInRow | None:
        with self.read() as s:
            return board.checkin(s, checkin_id)

    def set_checkin_status(
        self, checkin_id: str, status: CheckInStatus, staff_name: str
    ) -> OutboxItem:
        """Change a check-in's status here and queue the change for the portal, atomically.

        Raises NotFoundError for an unknown check-in, ValueError for a status the desk cannot set.
        """
        with self.write() as uow:
            return board.set_status(uow.session, checkin_id, status, staff_name)

    # ------------------------------------------------------------------ counts

    def patient_count(self) -> int:
        with self.read() as s:
            return s.scalar(select(func.count()).select_from(Patient)) or 0

    def unsynced_patient_count(self) -> int:
        """Patients imported here that the portal has not yet reported back (no portal id)."""
        with self.read() as s:
            return (
                s.scalar(
                    select(func.count()).select_from(Patient).where(Patient.portal_id.is_(None))
                )
                or 0
            )

    def appointment_count(self) -> int:
        with self.read() as s:
            return s.scalar(select(func.count()).select_from(Appointment)) or 0

    def checkin_count(self) -> int:
        with self.read() as s:
            return s.scalar(select(func.count()).select_from(CheckIn)) or 0

    def patient_mrns(self) -> set[str]:
        with self.read() as s:
            return set(s.scalars(select(Patient.mrn)))


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Take transaction control away from pysqlite so that the "begin" listener decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Up to 64 MiB of pages per connection (SQLite's default is 2 MiB): a large sync's writes
        # touch index pages all over a million-line ledger, and each page kept here is written
        # once per transaction instead of being spilled and read back.
        cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
