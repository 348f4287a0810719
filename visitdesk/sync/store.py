"""What the sync engine needs from a local store.

The desktop's SQLAlchemy store implements this protocol; the engine knows nothing else about it,
so `sync/` stays free of the desktop and of Qt.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from visitdesk.api.wire import ChangeItem


class StoreUnavailable(Exception):
    """The local store cannot be used right now (disk full, read-only, locked...): not a bug, and
    it passes. Stores raise a subclass; the engine keeps its workers alive and retries."""


@dataclass(frozen=True)
class OutboxItem:
    """A staff action waiting to be accepted by the portal: a catalogue command (its name in
    `visitdesk.api.commands`), its path parameters and its body, already dumped to JSON.

    `idempotency_key` is fixed when the action is recorded and sent unchanged on every retry, so the
    portal applies the action once however often it is delivered.
    """

    id: int
    command: str
    params: dict[str, str]
    body: dict[str, Any] | None
    idempotency_key: str
    description: str
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    failed: bool = False
    #: A failed item that may go through if sent again (a conflict, not a refusal on the merits).
    retryable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    #: `body` as the store keeps it (JSON text), sent as it is: parsing a 5,000-line batch
    #: back into objects only to dump them again cost the push worker twice. None: send `body`.
    #: The push line gives a bulk batch as this text alone (`body` None): see `Footprint.of`.
    body_json: str | None = None


class SyncStore(Protocol):
    def last_seq(self) -> int:
        """The `last_seq` of the last applied page of the change feed (0 when none)."""

    def apply_pages(self, pages: Iterable[tuple[Sequence[ChangeItem], int]]) -> set[str]:
        """Apply pages of the feed, each `(items, last_seq)` in order, in one transaction.

        The `last_seq` of the last page is stored with them. The pages may be produced while this
        runs (a page is only needed once the one before is written); if producing one raises,
        nothing is stored and the error propagates. Applying an item twice leaves the same state
        as applying it once. Returns the kinds touched.
        """

    def next_outbox_item(self) -> OutboxItem | None:
        """The oldest outbox item that is neither sent nor failed permanently."""

    def outbox_line(self, after_id: int, exclude: Collection[int], limit: int) -> list[OutboxItem]:
        """Pending (not sent, not failed) items with an id above `after_id` and not in `exclude`,
        oldest first, at most `limit` of them."""

    def outbox_sent(self, item_id: int, response: Any) -> set[str]:
        """The portal accepted the item: remove it from the outbox, and write the portal's state
        of the record it changed (`response` or a newer feed item held meanwhile). Returns the
        kinds written."""

    def outbox_attempt_failed(self, item_id: int, message: str) -> None:
        """A transient failure: count the attempt, keep the item first in line."""

    def outbox_failed(self, item_id: int, message: str, retryable: bool = True) -> set[str]:
        """The portal refused the item for good: park it for the user to see, and put the record
        it changed back to the portal's state. Returns the kinds written."""

    def outbox_pending_count(self) -> int:
        """Items still to send (pending, not failed)."""
