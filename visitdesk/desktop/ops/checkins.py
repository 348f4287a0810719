"""The check-in board: today's arrivals and the status changes staff make."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.models.board import CheckInRow
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.base import StoreOps, SyncKick
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.store import OutboxItem


class CheckInOps(StoreOps):
    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        sync: SyncKick,
        *,
        zone: tzinfo,
        staff_name: str,
    ) -> None:
        super().__init__(runner, store, sync)
        self.zone = zone
        self.staff_name = staff_name

    def load_board(self, day: date) -> Op[list[CheckInRow]]:
        """The check-ins that arrived on `day` (the practice's day), in arrival order."""
        start = datetime.combine(day, time.min, tzinfo=self.zone)
        end = start + timedelta(days=1)
        return self.runner.op(self.store.checkins_for_day, start, end)

    def set_status(self, checkin_id: str, status: CheckInStatus) -> Op[OutboxItem]:
        """Change the status here and queue it for the portal, atomically."""
        return self._queued(
            lambda: self.store.set_checkin_status(checkin_id, status, self.staff_name)
        )
