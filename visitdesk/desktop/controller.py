"""The small API the views talk to: the signed-in session's store, sync engine and portal client.

Views never reach for `requests` or SQL; they call these methods, which run the blocking part on
the task runner and return an `Op` for the view to attach its callbacks to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.wire import CheckInStatus, PracticeInfo, Role, StaffInfo

#: The roles that may act on check-ins (the portal enforces the same).
CHECKIN_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
IMPORT_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})


class Kickable(Protocol):
    def kick(self) -> None: ...


def practice_zone(practice: PracticeInfo) -> tzinfo:
    try:
        return ZoneInfo(practice.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass
class DeskController:
    """Everything a view may do for the signed-in staff member."""

    runner: TaskRunner
    store: Any  # visitdesk.desktop.models.store.LocalStore
    engine: Kickable
    staff: StaffInfo
    practice: PracticeInfo
    #: Checks the signed-in staff member's password (lock screen); blocking, run off the GUI.
    password_checker: Callable[[str], bool] | None = None

    @property
    def zone(self) -> tzinfo:
        return practice_zone(self.practice)

    def today(self, now: datetime | None = None) -> date:
        moment = now or datetime.now(self.zone)
        return moment.astimezone(self.zone).date()

    def can(self, roles: frozenset[Role]) -> bool:
        return self.staff.role in roles

    # ---- check-ins

    def load_board(self, day: date) -> Op[list[Any]]:
        start = datetime.combine(day, time.min, tzinfo=self.zone)
        end = start + timedelta(days=1)
        return self.runner.op(self.store.checkins_for_day, start, end)

    def set_checkin_status(self, checkin_id: str, status: CheckInStatus) -> Op[Any]:
        def record() -> Any:
            item = self.store.set_checkin_status(checkin_id, status, self.staff.name)
            self.engine.kick()
            return item

        return self.runner.op(record)

    # ---- practice data import

    def import_csv(
        self,
        importer: Callable[..., Any],
        path: Path,
        cancel: Any,
    ) -> Op[Any]:
        def run(progress: Callable[[int, int], None]) -> Any:
            report = importer(self.store, path, progress=progress, cancel=cancel)
            self.engine.kick()
            return report

        return self.runner.op(run)

    # ---- lock screen

    def check_password(self, password: str) -> Op[bool]:
        checker = self.password_checker
        if checker is None:
            return self.runner.op(lambda: False)
        return self.runner.op(checker, password)

    # ---- outbox

    def failed_outbox(self) -> Op[list[Any]]:
        return self.runner.op(self.store.failed_outbox_items)

    def retry_outbox(self, item_id: int) -> Op[Any]:
        def retry() -> None:
            self.store.retry_outbox_item(item_id)
            self.engine.kick()

        return self.runner.op(retry)

    def discard_outbox(self, item_id: int) -> Op[Any]:
        return self.runner.op(self.store.discard_outbox_item, item_id)
