"""The check-in desk: today's schedule and arrivals, and the changes the front desk makes from it
(acknowledge, room, finish, check in at the desk, walk-ins, no-shows, the practice's settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select

from visitdesk.api.commands import WRITE_CHECKIN_SETTINGS
from visitdesk.api.wire import CheckInStatus, PracticeInfo
from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.models import board, messages, quick_texts, schedule
from visitdesk.desktop.models.schedule import NO_FILTER, Board, BoardFilter
from visitdesk.desktop.models.schema import CheckIn, Patient
from visitdesk.desktop.models.store import LocalStore, UnitOfWork
from visitdesk.desktop.ops.base import StoreOps, SyncKick
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.sync.store import OutboxItem


@dataclass(frozen=True)
class StatusChange:
    item: OutboxItem
    #: The patient was sent the acknowledgement in the arrival chat.
    told: bool


class CheckInOps(StoreOps):
    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        sync: SyncKick,
        *,
        zone: tzinfo,
        staff_name: str,
        practice: PracticeInfo | None = None,
    ) -> None:
        super().__init__(runner, store, sync)
        self.zone = zone
        self.staff_name = staff_name
        #: The practice's name and phone, for the placeholders of the acknowledgement.
        self.practice = practice

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The instants the practice's `day` starts and ends."""
        start = datetime.combine(day, time.min, tzinfo=self.zone)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=self.zone)
        return start, end

    def load_desk(self, day: date, board_filter: BoardFilter = NO_FILTER) -> Op[Board]:
        """The day's arrivals and schedule (sorted and filtered in SQL), its providers and
        locations, and the practice's check-in settings."""
        start, end = self.day_bounds(day)

        def load() -> Board:
            with self.store.read() as session:
                return schedule.load_board(session, start, end, board_filter)

        return self.runner.op(load)

    def set_status(self, checkin_id: str, status: CheckInStatus) -> Op[StatusChange]:
        """Change the status here and queue it for the portal, atomically. Acknowledging also
        sends the patient the acknowledgement quick text in the arrival chat (queued after the
        status, in the same transaction), when the arrival has a chat and a template is chosen."""

        def change() -> StatusChange:
            with self.store.write() as uow:
                item = board.set_status(uow.session, checkin_id, status, self.staff_name)
                told = False
                if status == CheckInStatus.ACKNOWLEDGED:
                    told = self._tell_patient(uow, checkin_id)
                return StatusChange(item, told)

        return self._queued(change)

    def _tell_patient(self, uow: UnitOfWork, checkin_id: str) -> bool:
        session = uow.session
        thread_id = messages.thread_for_checkin(session, checkin_id)
        template = quick_texts.acknowledgement(session)
        if thread_id is None or template is None:
            return False
        names = session.execute(
            select(Patient.first_name, Patient.last_name)
            .join(CheckIn, CheckIn.patient_id == Patient.portal_id)
            .where(CheckIn.id == checkin_id)
        ).first()
        body = quick_texts.fill(
            template,
            {
                "patient_first_name": names[0] if names else "",
                "patient_last_name": names[1] if names else "",
                "practice_name": self.practice.name if self.practice else "",
                "practice_phone": self.practice.phone if self.practice else "",
                "staff_name": self.staff_name,
            },
        )
        messages.record_reply(session, uow.enqueue, thread_id, body, self.staff_name)
        return True

    def check_in_at_desk(
        self, patient_id: str, appointment_id: str | None, day: date
    ) -> Op[tuple[str, OutboxItem]]:
        """Check a patient in at the desk, for `appointment_id`, or with None for their
        appointment today if they have one (a walk-in if not)."""
        day_start, day_end = self.day_bounds(day)

        def change() -> tuple[str, OutboxItem]:
            with self.store.write() as uow:
                return board.check_in_at_desk(
                    uow.session, patient_id, appointment_id, self.staff_name, day_start, day_end
                )

        return self._queued(change)

    def mark_no_show(self, appointment_id: str) -> Op[OutboxItem]:
        """Mark a patient who never came a no-show (refused for an arrival, or too soon)."""

        def change() -> OutboxItem:
            with self.store.write() as uow:
                grace = schedule.checkin_settings(uow.session).no_show_grace_minutes
                return board.mark_no_show(
                    uow.session, appointment_id, self.staff_name, timedelta(minutes=grace)
                )

        return self._queued(change)

    def save_settings(self, settings: CheckInSettings) -> Op[OutboxItem]:
        """A manager's new check-in rules: in force on this desk at once, and sent to the portal
        (which hands them to every desk)."""

        def change() -> OutboxItem:
            with self.store.write() as uow:
                schedule.put_checkin_settings(uow.session, settings)
                return uow.enqueue(WRITE_CHECKIN_SETTINGS, {}, settings, "Check-in settings")

        return self._queued(change)
