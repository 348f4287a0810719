"""myInfo: patients' changes to their demographics and insurance, reviewed field by field.

The queue and the record's current values come from the local store (the feed keeps both
current, and they are there offline); decisions are recorded here and sent through the outbox;
card pictures are fetched from the portal when someone opens one (they are never synced to the
desk). The export for the practice management system is a CSV of the accepted fields of changes
the portal confirmed since this workstation's last export; a change counts as exported only once
its file is saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from visitdesk.api.commands import GET_CARD_IMAGE
from visitdesk.api.wire_myinfo import (
    CARD_FIELDS,
    FIELD_LABELS,
    MAX_CARD_BYTES,
    RELATIONSHIP_WORDS,
)
from visitdesk.desktop.models import myinfo
from visitdesk.desktop.models.myinfo import ChangeDetail, ExportRow, QueueRow
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.base import StoreOps, SyncKick
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.reports.csv_export import csv_bytes
from visitdesk.sync.client import PortalClient
from visitdesk.sync.errors import PortalOffline
from visitdesk.sync.store import OutboxItem

log = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "Decided",
    "MRN",
    "Patient",
    "Date of birth",
    "Field",
    "New value",
    "Sent by (portal account)",
    "Decided by",
    "Change id",
)


@dataclass(frozen=True)
class AcceptedExport:
    """A CSV of accepted changes, and the changes it covers (marked exported once saved)."""

    data: bytes
    rows: int
    change_ids: list[str]


def _day(value: date | None) -> str:
    return f"{value:%m/%d/%Y}" if value is not None else ""


def export_cells(row: ExportRow, zone: tzinfo) -> tuple[str, ...]:
    decided = row.decided_at.astimezone(zone) if row.decided_at is not None else None
    value = row.value
    if row.field in CARD_FIELDS:
        value = f"New card picture on the portal (image {row.value})"
    elif row.field == "insurance_relationship":
        value = RELATIONSHIP_WORDS.get(row.value, row.value)
    return (
        f"{decided:%m/%d/%Y %I:%M %p}" if decided is not None else "",
        row.mrn,
        row.patient_name,
        _day(row.date_of_birth),
        FIELD_LABELS.get(row.field, row.field),
        value,
        row.account_name,
        row.decided_by,
        row.change_id,
    )


class MyInfoOps(StoreOps):
    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        sync: SyncKick,
        *,
        client: PortalClient | None,
        zone: tzinfo,
        now: Callable[[], datetime],
    ) -> None:
        super().__init__(runner, store, sync)
        self.client = client
        self.zone = zone
        self._now = now

    # ---- the queue

    def load_queue(self) -> Op[list[QueueRow]]:
        def run() -> list[QueueRow]:
            with self.store.read() as session:
                return myinfo.queue(session)

        return self.runner.op(run)

    def load_detail(self, change_id: str) -> Op[ChangeDetail]:
        def run() -> ChangeDetail:
            with self.store.read() as session:
                return myinfo.detail(session, change_id)

        return self.runner.op(run)

    def card_image(self, image_id: str) -> Op[bytes]:
        """A card picture from the portal (it is not kept on the workstation)."""

        def run() -> bytes:
            if self.client is None:
                raise PortalOffline()
            return self.client.download(
                GET_CARD_IMAGE, {"image_id": image_id}, limit=MAX_CARD_BYTES
            )

        return self.runner.op(run)

    # ---- decisions (queued for the portal)

    def decide(self, change_id: str, decisions: dict[str, str]) -> Op[OutboxItem]:
        def record() -> OutboxItem:
            with self.store.write() as uow:
                return myinfo.record_decision(uow.session, change_id, decisions)

        return self._queued(record)

    # ---- export for the practice management system

    def export_accepted(self) -> Op[AcceptedExport]:
        def run() -> AcceptedExport:
            with self.store.read() as session:
                rows, ids = myinfo.unexported(session)
            data = csv_bytes(EXPORT_COLUMNS, (export_cells(row, self.zone) for row in rows))
            return AcceptedExport(data, len(rows), ids)

        return self.runner.op(run)

    def mark_exported(self, change_ids: list[str]) -> Op[None]:
        def run() -> None:
            with self.store.write() as uow:
                myinfo.mark_exported(uow.session, change_ids, self._now())
            log.info("myInfo export saved (%d changes)", len(change_ids))

        return self.runner.op(run)
