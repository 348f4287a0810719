"""Test doubles for the sync engine: a scriptable portal feed/command endpoint and a dict store.

The engine's integration tests run against the real portal and LocalStore; these fakes let the unit
tests script exact failures (offline, 500, 429, auth) and observe every store call.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from visitdesk.api.commands import SET_CHECKIN_STATUS, StaffCommand
from visitdesk.api.wire import (
    ChangeItem,
    ChangesPage,
    CheckInOut,
    CheckInStatus,
    CheckInStatusUpdate,
    PatientOut,
)
from visitdesk.desktop.models.schema import CheckIn, Patient
from visitdesk.desktop.models.store import LocalStore
from visitdesk.sync.store import OutboxItem


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll `predicate` until it holds or `timeout` passes (no time.sleep)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        pause.wait(interval)
    return True


def _record(kind: str, record_id: str) -> dict[str, Any]:
    """A valid *Out record of `kind` (synthetic, no real person)."""
    now = datetime.now(UTC)
    if kind == "patient":
        return PatientOut(
            id=record_id,
            mrn=f"MRN-{record_id}",
            first_name="Test",
            last_name=f"Patient-{record_id}",
            date_of_birth=date(1980, 1, 1),
            updated_at=now,
        ).model_dump(mode="json")
    if kind == "checkin":
        return CheckInOut(
            id=record_id,
            patient_id="P-unknown",
            arrived_at=now,
            status=CheckInStatus.ARRIVED,
            status_changed_at=now,
        ).model_dump(mode="json")
    raise ValueError(kind)


class FakePortal:
    """Implements the client calls the engine makes (get_changes, send)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.feed: list[ChangeItem] = []
        self.sent: list[tuple[str, Mapping[str, str], Any, str]] = []
        self.applied: dict[str, Any] = {}  # idempotency key -> first response
        self.send_errors: list[BaseException] = []  # raised, in order, by the next send calls
        self.pull_errors: list[BaseException] = []
        self.pull_gate: threading.Event | None = None  # when set: get_changes blocks on it
        self.before_pull: Callable[[int], None] | None = None
        self.pull_calls = 0
        #: Called with (command name, idempotency key) before a send is answered; may block.
        self.before_send: Callable[[str, str], None] | None = None
        self.sending = 0  # sends under way now
        self.most_sending = 0  # most sends under way at once
        #: ("start" | "end", idempotency key) of every send, in the order they happened.
        self.events: list[tuple[str, str]] = []

    def add_change(self, kind: str, record_id: str) -> None:
        with self.cond:
            seq = len(self.feed) + 1
            data = _record(kind, record_id)
            item = ChangeItem.model_validate(
                {"seq": seq, "kind": kind, "op": "upsert", "id": record_id, "data": data}
            )
            self.feed.append(item)
            self.cond.notify_all()

    def get_changes(self, after: int, limit: int, wait: float) -> ChangesPage:
        if self.before_pull is not None:
            self.before_pull(after)  # may block, or raise as the portal would
        with self.cond:
            self.pull_calls += 1
            if self.pull_errors:
                raise self.pull_errors.pop(0)
        if self.pull_gate is not None:
            self.pull_gate.wait(10)
        with self.cond:
            self.cond.wait_for(lambda: len(self.feed) > after, timeout=wait)
            items = self.feed[after : after + limit]
            last = items[-1].seq if items else after
            return ChangesPage(items=items, last_seq=last, more=len(self.feed) > last)

    def send(
        self,
        command_name: str,
        params: Mapping[str, str],
        body: dict[str, Any] | None,
        idempotency_key: str,
        body_json: str | None = None,
    ) -> Any:
        with self.cond:
            self.sent.append((command_name, params, body, idempotency_key))
            self.sending += 1
            self.most_sending = max(self.most_sending, self.sending)
            self.events.append(("start", idempotency_key))
            self.cond.notify_all()
        try:
            if self.before_send is not None:
                self.before_send(command_name, idempotency_key)
            with self.cond:
                if self.send_errors:
                    raise self.send_errors.pop(0)
                assert idempotency_key is not None
                if idempotency_key not in self.applied:
                    self.applied[idempotency_key] = {"ok": True, "n": len(self.applied) + 1}
                return self.applied[idempotency_key]
        finally:
            with self.cond:
                self.sending -= 1
                self.events.append(("end", idempotency_key))
                self.cond.notify_all()


class StoreClosed(AssertionError):
    pass


class FakeStore:
    """A SyncStore in dicts that records calls and can be closed (any later call fails the test)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = 0
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.outbox: dict[int, OutboxItem] = {}
        self.failed: dict[int, str] = {}
        self.retryable: dict[int, bool] = {}
        self.sent: list[int] = []
        self.attempt_errors: list[tuple[int, str]] = []
        self.closed = False
        self.calls_after_close: list[str] = []
        self._ids = itertools.count(1)

    def _check(self, name: str) -> None:
        if self.closed:
            self.calls_after_close.append(name)
            raise StoreClosed(name)

    def close(self) -> None:
        with self.lock:
            self.closed = True

    def has(self, kind: str, record_id: str) -> bool:
        """Whether the record arrived (test observation; ignores `closed`)."""
        with self.lock:
            return (kind, record_id) in self.records

    def pending_ids(self) -> list[int]:
        with self.lock:
            return [i for i in sorted(self.outbox) if i not in self.failed]

    def failed_messages(self) -> dict[int, str]:
        with self.lock:
            return dict(self.failed)

    def failed_retryable(self) -> dict[int, bool]:
        """Whether each failed item may be sent again (the outbox screen's Send again)."""
        with self.lock:
            return dict(self.retryable)

    def enqueue(self, checkin_id: str, body: dict[str, Any] | None = None) -> OutboxItem:
        """Queue a check-in status change (the engine treats every command alike)."""
        with self.lock:
            item_id = next(self._ids)
            item = OutboxItem(
                id=item_id,
                command=SET_CHECKIN_STATUS.name,
                params={"checkin_id": checkin_id},
                body=body,
                idempotency_key=f"key-{item_id}",
                description=f"item {item_id}",
                created_at=datetime.now(UTC),
            )
            self.outbox[item_id] = item
            return item

    def enqueue_command(self, command: StaffCommand[Any], body: BaseModel) -> OutboxItem:
        """Queue a command without path parameters (a bulk upsert) with its body."""
        with self.lock:
            item_id = next(self._ids)
            item = OutboxItem(
                id=item_id,
                command=command.name,
                params={},
                body=command.dump_body(body),
                idempotency_key=f"key-{item_id}",
                description=f"item {item_id}",
                created_at=datetime.now(UTC),
            )
            self.outbox[item_id] = item
            return item

    def last_seq(self) -> int:
        with self.lock:
            self._check("last_seq")
            return self.seq

    def apply_changes(self, items: Sequence[ChangeItem], last_seq: int) -> set[str]:
        return self.apply_pages([(items, last_seq)])

    def apply_pages(self, pages: Iterable[tuple[Sequence[ChangeItem], int]]) -> set[str]:
        # Like a transaction: pages are produced (maybe failing) first, then written together.
        written: list[tuple[Sequence[ChangeItem], int]] = []
        for page in pages:
            written.append(page)
            with self.lock:
                self._check("apply_pages")
        with self.lock:
            self._check("apply_pages")
            kinds: set[str] = set()
            for items, last_seq in written:
                for item in items:
                    self.records[(item.kind, item.id)] = item.data
                kinds |= {item.kind for item in items}
                self.seq = last_seq
            return kinds

    def next_outbox_item(self) -> OutboxItem | None:
        with self.lock:
            self._check("next_outbox_item")
            pending = [i for i in sorted(self.outbox) if i not in self.failed]
            return self.outbox[pending[0]] if pending else None

    def outbox_line(self, after_id: int, exclude: Collection[int], limit: int) -> list[OutboxItem]:
        with self.lock:
            self._check("outbox_line")
            ids = [
                i
                for i in sorted(self.outbox)
                if i > after_id and i not in exclude and i not in self.failed
            ]
            return [self.outbox[i] for i in ids[:limit]]

    def outbox_sent(self, item_id: int, response: Any) -> None:
        with self.lock:
            self._check("outbox_sent")
            self.outbox.pop(item_id, None)
            self.sent.append(item_id)

    def outbox_attempt_failed(self, item_id: int, message: str) -> None:
        with self.lock:
            self._check("outbox_attempt_failed")
            self.attempt_errors.append((item_id, message))

    def outbox_failed(self, item_id: int, message: str, retryable: bool = True) -> None:
        with self.lock:
            self._check("outbox_failed")
            self.failed[item_id] = message
            self.retryable[item_id] = retryable

    def outbox_pending_count(self) -> int:
        with self.lock:
            self._check("outbox_pending_count")
            return len([i for i in self.outbox if i not in self.failed])


class RecordingListener:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changes: list[set[str]] = []
        self.statuses: list[Any] = []
        self.failures: list[tuple[OutboxItem, str]] = []

    def on_changes(self, kinds: set[str]) -> None:
        with self.lock:
            self.changes.append(kinds)

    def on_status(self, status: Any) -> None:
        with self.lock:
            self.statuses.append(status)

    def on_outbox_failed(self, item: OutboxItem, message: str) -> None:
        with self.lock:
            self.failures.append((item, message))


class ProbeLocalStore(LocalStore):
    """The real LocalStore, with the same observation hooks as FakeStore."""

    def __init__(self, engine: Any, path: Any) -> None:
        super().__init__(engine, path)
        self.lock = threading.Lock()
        self.closed = False
        self.calls_after_close: list[str] = []
        self.sent: list[int] = []
        self.attempt_errors: list[tuple[int, str]] = []

    def _check(self, name: str) -> None:
        with self.lock:
            if self.closed:
                self.calls_after_close.append(name)
                raise StoreClosed(name)

    def close(self) -> None:
        with self.lock:
            self.closed = True
        super().close()

    def has(self, kind: str, record_id: str) -> bool:
        with self.read() as s:
            if kind == "patient":
                return (
                    s.scalar(select(Patient.id).where(Patient.portal_id == record_id)) is not None
                )
            return s.get(CheckIn, record_id) is not None

    def pending_ids(self) -> list[int]:
        return [item.id for item in self.pending_outbox_items()]

    def failed_messages(self) -> dict[int, str]:
        return {item.id: item.last_error or "" for item in self.failed_outbox_items()}

    def failed_retryable(self) -> dict[int, bool]:
        return {item.id: item.retryable for item in self.failed_outbox_items()}

    def enqueue(  # type: ignore[override]
        self, checkin_id: str, body: dict[str, Any] | None = None
    ) -> OutboxItem:
        """FakeStore.enqueue's signature; the body is checked as the real store checks it."""
        update = CheckInStatusUpdate.model_validate(body or {"status": "acknowledged"})
        return super().enqueue(SET_CHECKIN_STATUS, {"checkin_id": checkin_id}, update, "test item")

    def enqueue_command(self, command: StaffCommand[Any], body: BaseModel) -> OutboxItem:
        return super().enqueue(command, {}, body, "test batch")

    @property
    def seq(self) -> int:
        return super().last_seq()

    def last_seq(self) -> int:
        self._check("last_seq")
        return super().last_seq()

    def apply_pages(self, pages: Iterable[tuple[Sequence[ChangeItem], int]]) -> set[str]:
        self._check("apply_pages")
        return super().apply_pages(pages)

    def next_outbox_item(self) -> OutboxItem | None:
        self._check("next_outbox_item")
        return super().next_outbox_item()

    def outbox_line(self, after_id: int, exclude: Collection[int], limit: int) -> list[OutboxItem]:
        self._check("outbox_line")
        return super().outbox_line(after_id, exclude, limit)

    def outbox_sent(self, item_id: int, response: Any) -> None:
        self._check("outbox_sent")
        super().outbox_sent(item_id, response)
        with self.lock:
            self.sent.append(item_id)

    def outbox_attempt_failed(self, item_id: int, message: str) -> None:
        self._check("outbox_attempt_failed")
        super().outbox_attempt_failed(item_id, message)
        with self.lock:
            self.attempt_errors.append((item_id, message))

    def outbox_failed(self, item_id: int, message: str, retryable: bool = True) -> None:
        self._check("outbox_failed")
        super().outbox_failed(item_id, message, retryable)

    def outbox_pending_count(self) -> int:
        self._check("outbox_pending_count")
        return super().outbox_pending_count()
