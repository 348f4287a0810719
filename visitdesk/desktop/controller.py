"""The small API the views talk to: the signed-in session's store, sync engine and portal client.

Views never reach for `requests` or SQL; they call these methods, which run the blocking part on
the task runner and return an `Op` for the view to attach its callbacks to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from visitdesk.desktop.code_service import SecurityCodeService
from visitdesk.desktop.match_service import MatchService
from visitdesk.desktop.models import codes, patient_search, registrations
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.reports.code_slip import CodeSlip, render_code_slip
from visitdesk.sync.engine import SyncStatus
from visitdesk.sync.errors import PortalOffline
from visitdesk.sync.wire import CheckInStatus, PracticeInfo, Role, StaffInfo

#: The roles that may act on check-ins (the portal enforces the same).
CHECKIN_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
IMPORT_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: The roles that issue, revoke and reissue security codes (the portal enforces the same).
CODE_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: The roles that work the registration queue (the portal enforces the same).
REGISTRATION_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})


class Kickable(Protocol):
    def kick(self) -> None: ...

    @property
    def status(self) -> SyncStatus: ...


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
    #: The session's PortalClient, for calls that need the portal's answer at once.
    client: Any = None
    #: Ranks registrations against the local records; built on first use, off the GUI thread.
    matcher: MatchService | None = None

    @property
    def portal_reachable(self) -> bool:
        """The portal answered the last exchange: a queued change goes out within moments."""
        return self.engine.status.online is True and not self.engine.status.auth_needed

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

    # ---- security codes

    def search_patients(self, text: str) -> Op[Any]:
        return self.runner.op(patient_search.find_patients, self.store, text)

    def load_security_codes(self, status: str | None, patient_id: str | None) -> Op[list[Any]]:
        return self.runner.op(codes.codes_for_desk, self.store, status, patient_id)

    def _codes(self) -> SecurityCodeService:
        if self.client is None:
            raise PortalOffline()
        return SecurityCodeService(self.client, self.store, self.staff.name)

    def issue_security_code(self, request: Any, idempotency_key: str) -> Op[Any]:
        return self.runner.op(lambda: self._codes().issue(request, idempotency_key))

    def revoke_security_code(self, code_id: str, idempotency_key: str) -> Op[Any]:
        return self.runner.op(lambda: self._codes().revoke(code_id, idempotency_key))

    def reissue_security_code(self, code_id: str, idempotency_key: str) -> Op[Any]:
        return self.runner.op(lambda: self._codes().reissue(code_id, idempotency_key))

    def patient_for_code(self, patient_id: str) -> Op[Any]:
        return self.runner.op(patient_search.patient_for_code, self.store, patient_id)

    def code_slip(self, slip: CodeSlip) -> Op[bytes]:
        """Render a code slip PDF in memory, off the GUI thread; the portal's address (where
        patients open it in a browser) is filled in from the local store."""

        def render() -> bytes:
            meta = self.store.practice()
            address = "" if meta is None else meta.portal_url
            return render_code_slip(replace(slip, portal_address=address))

        return self.runner.op(render)

    def save_file(self, path: Path, data: bytes) -> Op[Any]:
        return self.runner.op(path.write_bytes, data)

    # ---- registration queue

    def _matcher(self) -> MatchService:
        if self.matcher is None:
            self.matcher = MatchService(self.store)
        return self.matcher

    def load_registration_queue(self) -> Op[list[Any]]:
        return self.runner.op(registrations.queue_for_desk, self.store)

    def refresh_match_index(self) -> Op[int]:
        """Build the candidate index, or catch up with patient changes."""
        matcher = self._matcher()
        return self.runner.op(matcher.refresh)

    def review_registration(self, registration_id: str) -> Op[Any]:
        matcher = self._matcher()
        return self.runner.op(matcher.review, registration_id)

    def compare_registration(self, registration_id: str, portal_id: str) -> Op[Any]:
        matcher = self._matcher()
        return self.runner.op(matcher.compare_with, registration_id, portal_id)

    def match_registration(
        self, registration_id: str, portal_id: str, score: float, note: str
    ) -> Op[Any]:
        def record() -> Any:
            item = registrations.record_match(self.store, registration_id, portal_id, score, note)
            self.engine.kick()
            return item

        return self.runner.op(record)

    def reject_registration(self, registration_id: str, reason_code: str, text: str) -> Op[Any]:
        def record() -> Any:
            item = registrations.record_reject(self.store, registration_id, reason_code, text)
            self.engine.kick()
            return item

        return self.runner.op(record)
