"""Changes the portal did not accept: list them, put one back in line, or discard it."""

from __future__ import annotations

from visitdesk.desktop.ops.base import StoreOps
from visitdesk.desktop.tasks import Op
from visitdesk.sync.store import OutboxItem


class OutboxOps(StoreOps):
    def failed(self) -> Op[list[OutboxItem]]:
        return self.runner.op(self.store.failed_outbox_items)

    def retry(self, item_id: int) -> Op[None]:
        """Send again, keeping the item's place and idempotency key."""
        return self._queued(lambda: self.store.retry_outbox_item(item_id))

    def discard(self, item_id: int) -> Op[None]:
        return self.runner.op(self.store.discard_outbox_item, item_id)
