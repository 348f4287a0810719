"""Staff accounts: the list, adding staff, roles, disabling and enabling, resetting a
colleague's password (office managers), and changing one's own password (everyone).

Straight to the portal (it decides, e.g. the last-manager rule and the password rules), off the
GUI thread, never through the outbox: none of these may be applied later by surprise, and the
password calls are not idempotent. One-time passwords are returned to the screen and never
stored or logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from visitdesk.api.commands import (
    ADD_STAFF,
    DISABLE_STAFF,
    ENABLE_STAFF,
    LIST_STAFF,
    RESET_STAFF_PASSWORD,
    SET_STAFF_ROLE,
    StaffCommand,
)
from visitdesk.api.wire import Role
from visitdesk.api.wire_accounts import StaffPasswordReset
from visitdesk.api.wire_staff import StaffCreate, StaffCreated, StaffMember, StaffRoleChange
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.client import PortalClient
from visitdesk.sync.errors import PortalOffline

log = logging.getLogger(__name__)


class StaffOps:
    def __init__(
        self,
        runner: TaskRunner,
        *,
        client: PortalClient | None,
        password_changed: Callable[[str], None] | None = None,
    ) -> None:
        self.runner = runner
        self.client = client
        #: Told the new password after a change, so the lock screen accepts it (memory only).
        self._password_changed = password_changed

    def _portal(self) -> PortalClient:
        if self.client is None:
            raise PortalOffline()
        return self.client

    def load(self) -> Op[list[StaffMember]]:
        def run() -> list[StaffMember]:
            return self._portal().call(LIST_STAFF)

        return self.runner.op(run)

    def add(self, request: StaffCreate) -> Op[StaffCreated]:
        def run() -> StaffCreated:
            # No idempotency key: the answer holds a password the portal does not keep; a
            # repeat finds the username taken instead of adding a second person.
            created = self._portal().call(ADD_STAFF, body=request)
            log.info("Staff member added")
            return created

        return self.runner.op(run)

    def reset_password(self, staff_id: str) -> Op[StaffPasswordReset]:
        """A one-time password for a colleague; their sessions end and they must choose a new
        password at their next sign-in. No idempotency key: the answer holds a password the
        portal does not keep (a repeat simply gives another one)."""

        def run() -> StaffPasswordReset:
            reset = self._portal().call(RESET_STAFF_PASSWORD, {"staff_id": staff_id})
            log.info("Staff password reset")
            return reset

        return self.runner.op(run)

    def change_own_password(self, current: str, new: str) -> Op[None]:
        """Change the signed-in staff member's password; their other sessions end."""

        def run() -> None:
            self._portal().change_password(current, new)
            if self._password_changed is not None:
                self._password_changed(new)

        return self.runner.op(run)

    def set_role(self, staff_id: str, role: Role, idempotency_key: str) -> Op[StaffMember]:
        return self._change(SET_STAFF_ROLE, staff_id, StaffRoleChange(role=role), idempotency_key)

    def set_active(self, staff_id: str, active: bool, idempotency_key: str) -> Op[StaffMember]:
        command = ENABLE_STAFF if active else DISABLE_STAFF
        return self._change(command, staff_id, None, idempotency_key)

    def _change(
        self,
        command: StaffCommand[StaffMember],
        staff_id: str,
        body: StaffRoleChange | None,
        idempotency_key: str,
    ) -> Op[StaffMember]:
        def run() -> StaffMember:
            member = self._portal().call(
                command, {"staff_id": staff_id}, body, idempotency_key=idempotency_key
            )
            log.info("Staff member changed (%s)", command.name)
            return member

        return self.runner.op(run)
