"""The registration queue: what waits, candidates ranked with their evidence, match and reject.

The candidate index (`MatchService`) is owned here and kept current here: patient changes from
the change feed mark it stale (`note_changes`, connected by the composition root), and the next
ranking catches it up first, on the worker thread. So a large first sync does no index work until
someone looks at a registration, and a ranking never uses records older than the store's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from visitdesk.desktop.match_service import CandidateView, MatchService, Review
from visitdesk.desktop.models import registrations
from visitdesk.desktop.models.registrations import QueueRow
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.base import StoreOps, SyncKick
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.store import OutboxItem

#: Feed kinds that change the records the index holds.
PATIENT_KIND = "patient"


class RegistrationOps(StoreOps):
    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        sync: SyncKick,
        *,
        matcher: MatchService | None = None,
    ) -> None:
        super().__init__(runner, store, sync)
        self.matcher = matcher or MatchService(store)
        self._stale = threading.Event()

    # ---- keeping the index current

    def note_changes(self, kinds: Iterable[str]) -> None:
        """The change feed brought `kinds`; patients make the index stale (cheap, any thread)."""
        if PATIENT_KIND in kinds:
            self._stale.set()

    @property
    def index_stale(self) -> bool:
        return self._stale.is_set()

    def _current(self) -> MatchService:
        """The index, caught up with the store (blocking: call on a worker thread)."""
        if self._stale.is_set():
            self._stale.clear()
            self.matcher.refresh()
        else:
            self.matcher.build()
        return self.matcher

    def refresh_index(self) -> Op[int]:
        """Build the index, or catch it up with patient changes; returns records touched."""

        def run() -> int:
            self._stale.clear()
            return self.matcher.refresh()

        return self.runner.op(run)

    # ---- the queue and its reviews

    def load_queue(self) -> Op[list[QueueRow]]:
        def run() -> list[QueueRow]:
            with self.store.read() as session:
                return registrations.queue(session)

        return self.runner.op(run)

    def review(self, registration_id: str) -> Op[Review]:
        return self.runner.op(lambda: self._current().review(registration_id))

    def compare(self, registration_id: str, portal_id: str) -> Op[CandidateView]:
        """A record staff found by searching, scored and explained like a candidate."""
        return self.runner.op(lambda: self._current().compare_with(registration_id, portal_id))

    # ---- decisions (queued for the portal)

    def match(
        self, registration_id: str, portal_id: str, score: float, note: str
    ) -> Op[OutboxItem]:
        def record() -> OutboxItem:
            with self.store.write() as uow:
                return registrations.record_match(
                    uow.session, registration_id, portal_id, score, note
                )

        return self._queued(record)

    def reject(self, registration_id: str, reason_code: str, text: str) -> Op[OutboxItem]:
        def record() -> OutboxItem:
            with self.store.write() as uow:
                return registrations.record_reject(uow.session, registration_id, reason_code, text)

        return self._queued(record)
