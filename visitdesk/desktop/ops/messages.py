"""The shared inbox: pools and their counts, a thread, replies, assignment, closing, attachments
and the practice's quick-text templates.

Replies, assignments, closes and "read" marks go through the outbox (written with the local change
in one transaction, then the sync engine is kicked), so they survive being offline or a crash.
The colleague list and attachments are fetched from the portal at once; offline they raise the
client's `PortalOffline` and the screen says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from visitdesk.api.commands import DOWNLOAD_ATTACHMENT
from visitdesk.api.wire import PracticeInfo, Role, StaffInfo
from visitdesk.api.wire_messages import MAX_ATTACHMENT_BYTES, AttachmentOut, Colleague, Topic
from visitdesk.desktop.models import messages, quick_texts
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.base import StoreOps, SyncKick
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.client import PortalClient
from visitdesk.sync.errors import PortalOffline
from visitdesk.sync.store import OutboxItem

#: Roles that edit the practice's quick-text templates.
TEMPLATE_ROLES = frozenset({Role.MANAGER})


@dataclass(frozen=True)
class QuickText:
    title: str
    body: str
    #: Sent in the arrival chat when the desk acknowledges an arrival (one at most).
    on_acknowledge: bool = False


class MessageOps(StoreOps):
    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        sync: SyncKick,
        *,
        staff: StaffInfo,
        practice: PracticeInfo,
        client: PortalClient | None,
    ) -> None:
        super().__init__(runner, store, sync)
        self.staff = staff
        self.practice = practice
        self.client = client

    # ---- reading

    def inbox(
        self,
        pool: messages.Pool | Topic,
        search: str = "",
        order: messages.ThreadOrder = messages.ThreadOrder.ACTIVITY,
        descending: bool = True,
    ) -> Op[messages.Inbox]:
        """The sidebar's counts and a pool's threads (or, with `search`, matching threads),
        sorted in SQL."""
        return self.runner.op(
            messages.inbox, self.store, pool, self.staff.id, search, order, descending
        )

    def counts(self) -> Op[list[messages.PoolCount]]:
        def run() -> list[messages.PoolCount]:
            with self.store.read() as session:
                return messages.pool_counts(session, self.staff.id)

        return self.runner.op(run)

    def open_thread(self, thread_id: str) -> Op[messages.ThreadDetail]:
        """The thread, marked read here and (through the outbox) on the portal."""

        def run() -> messages.ThreadDetail:
            detail, item = messages.open_thread(self.store, thread_id)
            if item is not None:
                self.sync.kick()
            return detail

        return self.runner.op(run)

    def arrival_thread(self, checkin_id: str) -> Op[str | None]:
        """The arrival chat an I'm Here tap began, once the feed has brought it."""
        return self.runner.op(messages.arrival_thread, self.store, checkin_id)

    def new_patient_messages(self, after: int) -> Op[tuple[int, int]]:
        """(newest local message id, patient messages newer than `after`): for the notice."""

        def run() -> tuple[int, int]:
            with self.store.read() as session:
                return messages.patient_messages_after(session, after)

        return self.runner.op(run)

    # ---- acting (through the outbox)

    def reply(self, thread_id: str, body: str) -> Op[OutboxItem]:
        return self._queued(lambda: messages.reply(self.store, thread_id, body, self.staff.name))

    def assign(self, thread_id: str, colleague: Colleague | None) -> Op[OutboxItem]:
        """Give the thread to `colleague`, or to nobody (back to Unassigned)."""
        staff_id = colleague.id if colleague else None
        name = colleague.name if colleague else None
        return self._queued(lambda: messages.assign(self.store, thread_id, staff_id, name))

    def take(self, thread_id: str) -> Op[OutboxItem]:
        """Assign the thread to the signed-in staff member."""
        me = Colleague(id=self.staff.id, name=self.staff.name, role=self.staff.role.value)
        return self.assign(thread_id, me)

    def close(self, thread_id: str) -> Op[OutboxItem]:
        return self._queued(lambda: messages.close(self.store, thread_id))

    # ---- from the portal at once

    def colleagues(self) -> Op[list[Colleague]]:
        return self.runner.op(lambda: self._portal().colleagues())

    def save_attachment(
        self, thread_id: str, attachment: AttachmentOut, destination: Path
    ) -> Op[int]:
        """Stream the attachment into a file the user chose; its size."""
        return self.runner.op(
            lambda: self._portal().download_attachment(thread_id, attachment.id, destination)
        )

    def fetch_attachment(self, thread_id: str, attachment: AttachmentOut) -> Op[bytes]:
        """The attachment's bytes, for the in-app viewer (at most the portal's size limit)."""
        params = {"thread_id": thread_id, "attachment_id": attachment.id}
        return self.runner.op(
            lambda: self._portal().download(DOWNLOAD_ATTACHMENT, params, limit=MAX_ATTACHMENT_BYTES)
        )

    def _portal(self) -> PortalClient:
        if self.client is None:
            raise PortalOffline()
        return self.client

    # ---- quick texts

    @property
    def may_edit_templates(self) -> bool:
        return self.staff.role in TEMPLATE_ROLES

    def quick_texts(self) -> Op[list[QuickText]]:
        def run() -> list[QuickText]:
            with self.store.read() as session:
                return [
                    QuickText(q.title, q.body, bool(q.on_acknowledge))
                    for q in quick_texts.quick_texts(session)
                ]

        return self.runner.op(run)

    def save_quick_texts(self, texts: list[QuickText]) -> Op[OutboxItem]:
        """Replace the practice's templates on every workstation (managers only; ValueError,
        in words, for a text the portal would refuse, such as an unknown placeholder)."""
        if not self.may_edit_templates:
            raise PermissionError("Only a manager edits the quick texts.")
        flagged = [n for n, t in enumerate(texts) if t.on_acknowledge]
        if len(flagged) > 1:
            raise ValueError("Only one quick text can be sent when an arrival is acknowledged.")
        wire = quick_texts.validated(
            [(t.title, t.body) for t in texts], flagged[0] if flagged else None
        )
        return self._queued(lambda: quick_texts.save(self.store, wire))

    def fill(self, template: str, detail: messages.ThreadDetail) -> str:
        """A template with the open thread's placeholders filled (cheap: no I/O)."""
        return quick_texts.fill(
            template,
            {
                "patient_first_name": detail.patient_first_name or "",
                "patient_last_name": detail.patient_last_name or "",
                "practice_name": self.practice.name,
                "practice_phone": self.practice.phone,
                "staff_name": self.staff.name,
            },
        )
