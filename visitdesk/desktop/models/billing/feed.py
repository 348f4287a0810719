"""Writing the change feed's ledger lines and portal payments to the local store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_billing import LedgerLineOut, PaymentOut
from visitdesk.api.wire_feed import batch_of
from visitdesk.desktop.models.billing.tables import LedgerLine, PortalPayment
from visitdesk.desktop.models.bulk import bulk_insert, delete_where_in
from visitdesk.desktop.models.schema import table_of

LINE_FIELDS = (
    "kind",
    "service_date",
    "posted_date",
    "code",
    "description",
    "provider",
    "amount_cents",
    "responsibility",
)


_LINES = TypeAdapter(list[LedgerLineOut])


def line_row(record: Any, now: datetime) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in LINE_FIELDS}
    row.update(
        external_id=record.external_id,
        patient_mrn=record.mrn,
        guarantor_mrn=record.guarantor_mrn,
        updated_at=now,
    )
    return row


#: The feed kind whose one item is a whole batch of imported lines (LedgerLinesOut).
BATCH_KIND = "ledger_lines"


def apply_ledger_lines(session: Session, items: list[ChangeItem]) -> None:
    """Write ``ledger_line`` items (one line each) and ``ledger_lines`` items (a batch each)
    together: where a page holds a line twice, the item with the higher seq wins."""
    table = table_of(LedgerLine)
    deletes = [item.id for item in items if item.op == "delete" and item.kind != BATCH_KIND]
    delete_where_in(session, table, "portal_id", deletes)
    singles = [item for item in items if item.op == "upsert" and item.kind != BATCH_KIND]
    # One validation call for the page's single lines: a call per line cost a third more.
    records = iter(_LINES.validate_python([i.data for i in singles]))
    rows: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: i.seq):
        if item.op != "upsert":
            continue
        if item.kind == BATCH_KIND:
            batch = batch_of(item)  # read in one pass with its page, or validated now
            for line, portal_id in zip(batch.lines, batch.ids, strict=True):
                row = line_row(line, batch.updated_at)
                row["portal_id"] = portal_id
                row["source"] = "import"
                rows[line.external_id] = row
        else:
            record = next(records)
            row = line_row(record, record.updated_at)
            row["portal_id"] = item.id
            row["source"] = record.source
            rows[record.external_id] = row
    fields = (*LINE_FIELDS, "patient_mrn", "guarantor_mrn", "portal_id", "source", "updated_at")
    bulk_insert(session, table, list(rows.values()), conflict="external_id", update=fields)


def apply_payments(session: Session, items: list[ChangeItem]) -> None:
    rows = []
    for item in items:
        if item.op != "upsert":
            continue
        record = PaymentOut.model_validate(item.data)
        rows.append(
            {
                "id": item.id,
                "patient_portal_id": record.patient_id,
                "patient_mrn": record.mrn,
                "amount_cents": record.amount_cents,
                "card_brand": record.card_brand,
                "card_last4": record.card_last4,
                "ledger_line_id": record.ledger_line_id,
                "created_at": record.created_at,
            }
        )
    bulk_insert(session, table_of(PortalPayment), rows, conflict="id", update=("amount_cents",))
