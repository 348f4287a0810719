"""Operations of the Messages screen: the inbox, a thread, replies, assignment, closing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from visitdesk.desktop.models import messages
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.wire import PracticeInfo, Role, StaffInfo
from visitdesk.sync.wire_messages import Colleague, Topic

#: Roles that work the shared inbox (the portal enforces the same).
MESSAGE_ROLES = frozenset({Role.FRONT_DESK, Role.MANAGER})
#: Roles that edit the quick-text templates.
TEMPLATE_ROLES = frozenset({Role.MANAGER})


class Kickable(Protocol):
    def kick(self) -> None: ...


@dataclass
class MessageOps:
    runner: TaskRunner
    store: Any  # LocalStore
    engine: Kickable
    staff: StaffInfo
    practice: PracticeInfo
    client: Any  # PortalClient

    def inbox(self, pool: messages.Pool | Topic, search: str = "") -> Op[messages.Inbox]:
        return self.runner.op(messages.inbox, self.store, pool, self.staff.id, search)

    def open_thread(self, thread_id: str) -> Op[messages.ThreadDetail]:
        def run() -> messages.ThreadDetail:
            detail, item = messages.open_thread(self.store, thread_id)
            if item is not None:
                self.engine.kick()
            return detail

        return self.runner.op(run)

    def reply(self, thread_id: str, body: str) -> Op[Any]:
        return self._queued(messages.reply, self.store, thread_id, body, self.staff.name)

    def assign(self, thread_id: str, colleague: Colleague | None) -> Op[Any]:
        staff_id = colleague.id if colleague else None
        name = colleague.name if colleague else None
        return self._queued(messages.assign, self.store, thread_id, staff_id, name)

    def take(self, thread_id: str) -> Op[Any]:
        """Assign the thread to the signed-in staff member."""
        me = Colleague(id=self.staff.id, name=self.staff.name, role=self.staff.role.value)
        return self.assign(thread_id, me)

    def close(self, thread_id: str) -> Op[Any]:
        return self._queued(messages.close, self.store, thread_id)

    def colleagues(self) -> Op[list[Colleague]]:
        return self.runner.op(self.client.colleagues)

    def arrival_thread(self, checkin_id: str) -> Op[str | None]:
        return self.runner.op(messages.arrival_thread, self.store, checkin_id)

    def download(self, thread_id: str, attachment_id: str, destination: Path) -> Op[int]:
        return self.runner.op(
            self.client.download_attachment, thread_id, attachment_id, destination
        )

    def quick_texts(self) -> Op[list[tuple[str, str]]]:
        def run() -> list[tuple[str, str]]:
            with self.store.read() as session:
                return [(q.title, q.body) for q in messages.quick_texts(session)]

        return self.runner.op(run)

    def save_quick_texts(self, texts: list[tuple[str, str]]) -> Op[None]:
        def run() -> None:
            with self.store.write() as uow:
                messages.save_quick_texts(uow.session, texts)

        return self.runner.op(run)

    def fill(self, template: str, detail: messages.ThreadDetail) -> str:
        return messages.fill(
            template,
            {
                "patient_first_name": detail.patient_first_name or "",
                "patient_last_name": detail.patient_last_name or "",
                "practice_name": self.practice.name,
                "practice_phone": self.practice.phone,
                "staff_name": self.staff.name,
            },
        )

    def _queued(self, fn: Any, *args: Any) -> Op[Any]:
        def run() -> Any:
            item = fn(*args)
            self.engine.kick()
            return item

        return self.runner.op(run)
