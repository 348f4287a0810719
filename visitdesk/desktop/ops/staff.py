"""Staff accounts (office managers): the list, adding staff, roles, disabling and enabling. Straight to the portal (it decides, e.g. the last-manager rule), off the GUI
thread; one-time passwords are returned to the screen and never stored or logged."""

from __future__ import annotations

import logging

from visitdesk.desktop.ops.base import url_segment
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.client import PortalClient
from visitdesk.sync.errors import PortalOffline
from visitdesk.sync.wire import STAFF_PREFIX, Role
from visitdesk.sync.wire_staff import StaffCreate, StaffCreated, StaffMember

log = logging.getLogger(__name__)

STAFF_PATH = f"{STAFF_PREFIX}/staff"


class StaffOps:
    def __init__(self, runner: TaskRunner, *, client: PortalClient | None) -> None:
        self.runner = runner
        self.client = client

    def _portal(self) -> PortalClient:
        if self.client is None:
            raise PortalOffline()
        return self.client

    def load(self) -> Op[list[StaffMember]]:
        def run() -> list[StaffMember]:
            answer = self._portal().send("GET", STAFF_PATH, None, None)
            return [StaffMember.model_validate(row) for row in answer]

        return self.runner.op(run)

    def add(self, request: StaffCreate) -> Op[StaffCreated]:
        def run() -> StaffCreated:
            # No idempotency key: the answer holds a password the portal does not keep; a
            # repeat finds the username taken instead of adding a second person.
            answer = self._portal().send("POST", STAFF_PATH, request.model_dump(mode="json"), None)
            log.info("Staff member added")
            return StaffCreated.model_validate(answer)

        return self.runner.op(run)

    def set_role(self, staff_id: str, role: Role, idempotency_key: str) -> Op[StaffMember]:
        return self._change(staff_id, "role", {"role": role.value}, idempotency_key)

    def set_active(self, staff_id: str, active: bool, idempotency_key: str) -> Op[StaffMember]:
        return self._change(staff_id, "enable" if active else "disable", None, idempotency_key)

    def _change(
        self, staff_id: str, action: str, body: object, idempotency_key: str
    ) -> Op[StaffMember]:
        def run() -> StaffMember:
            answer = self._portal().send(
                "POST", f"{STAFF_PATH}/{url_segment(staff_id)}/{action}", body, idempotency_key
            )
            log.info("Staff member changed (%s)", action)
            return StaffMember.model_validate(answer)

        return self.runner.op(run)
