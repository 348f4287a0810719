"""Who is signed in, and the bundle of ops the views are given.

`DeskOps` is what a view receives: the signed-in staff member and practice (`session`), one ops
object per domain, and the task runner (for the views' own background work, such as printing).
The composition root builds it once per signed-in session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from visitdesk.api.wire import PracticeInfo, Role, StaffInfo
from visitdesk.desktop.ops.audit import AuditOps
from visitdesk.desktop.ops.base import save_file
from visitdesk.desktop.ops.billing import BillingOps
from visitdesk.desktop.ops.checkins import CheckInOps
from visitdesk.desktop.ops.codes import CodeOps, PatientOps
from visitdesk.desktop.ops.imports import ImportOps
from visitdesk.desktop.ops.links import LinkOps
from visitdesk.desktop.ops.messages import MessageOps
from visitdesk.desktop.ops.myinfo import MyInfoOps
from visitdesk.desktop.ops.outbox import OutboxOps
from visitdesk.desktop.ops.registrations import RegistrationOps
from visitdesk.desktop.ops.staff import StaffOps
from visitdesk.desktop.tasks import Op, TaskRunner

#: The roles that may act on check-ins (the portal enforces the same).
CHECKIN_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
IMPORT_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: The roles that issue, revoke and reissue security codes (the portal enforces the same).
CODE_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: The roles that work the registration queue (the portal enforces the same).
REGISTRATION_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: The roles that review patients' myInfo changes (the portal enforces the same).
MYINFO_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: The roles that work the shared inbox of secure messages (the portal enforces the same).
MESSAGE_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: The roles that work with ledgers and statements (the portal enforces the same for uploads).
BILLING_ROLES = frozenset({Role.BILLING, Role.MANAGER})
#: The roles that audit linked portal accounts (the portal enforces the same).
LINK_ROLES = frozenset({Role.MANAGER})
#: The roles that read and verify the audit trail (the portal enforces the same).
AUDIT_ROLES = frozenset({Role.MANAGER})
#: The roles that manage staff accounts (the portal enforces the same).
STAFF_ROLES = frozenset({Role.MANAGER})
#: The roles that set the practice's check-in rules (the portal enforces the same).
CHECKIN_RULE_ROLES = frozenset({Role.MANAGER})


def practice_zone(practice: PracticeInfo) -> tzinfo:
    try:
        return ZoneInfo(practice.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass
class DeskSession:
    """The signed-in staff member at this practice."""

    runner: TaskRunner
    staff: StaffInfo
    practice: PracticeInfo
    #: Checks the signed-in staff member's password (lock screen); blocking, run off the GUI.
    password_checker: Callable[[str], bool] | None = None
    #: The portal this session syncs with ("" without one), for Help ▸ About.
    portal_url: str = ""

    @property
    def zone(self) -> tzinfo:
        return practice_zone(self.practice)

    def today(self, now: datetime | None = None) -> date:
        moment = now or datetime.now(self.zone)
        return moment.astimezone(self.zone).date()

    def can(self, roles: frozenset[Role]) -> bool:
        return self.staff.role in roles

    def check_password(self, password: str) -> Op[bool]:
        checker = self.password_checker
        if checker is None:
            return self.runner.op(lambda: False)
        return self.runner.op(checker, password)


@dataclass(frozen=True)
class DeskOps:
    """Everything a view may do for the signed-in staff member."""

    session: DeskSession
    checkins: CheckInOps
    patients: PatientOps
    codes: CodeOps
    registrations: RegistrationOps
    myinfo: MyInfoOps
    billing: BillingOps
    imports: ImportOps
    outbox: OutboxOps
    messages: MessageOps
    links: LinkOps
    audit: AuditOps
    staff: StaffOps
    #: The session's task runner, for a view's own background work (printing, saving a file).
    tasks: TaskRunner

    def save_file(self, path: Path, data: bytes) -> Op[int]:
        return save_file(self.tasks, path, data)
