"""Writing the change feed's ledger lines and portal payments to the local store."""

from __future__ import annotations

from datetime import datetime
from itertools import repeat
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from visitdesk.api.sql_rows import insert_columns
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


#: The feed kinds whose one item is a whole batch of imported lines (in columns, or older, one
#: object per line).
BATCH_KINDS = frozenset({"ledger_columns", "ledger_lines"})
#: The columns of the local ledger a feed line fills.
_FILLED = (*LINE_FIELDS, "external_id", "patient_mrn", "guarantor_mrn", "portal_id", "source")


def apply_ledger_lines(session: Session, items: list[ChangeItem]) -> None:
    """Write ``ledger_line`` items (one line each) and batch items (``ledger_columns``,
    ``ledger_lines``) together: where a page holds a line twice, the item with the higher seq
    wins. A batch stays in columns on its way to the table."""
    table = table_of(LedgerLine)
    deletes = [item.id for item in items if item.op == "delete" and item.kind not in BATCH_KINDS]
    delete_where_in(session, table, "portal_id", deletes)
    singles = [item for item in items if item.op == "upsert" and item.kind not in BATCH_KINDS]
    # One validation call for the page's single lines: a call per line cost a third more.
    records = iter(_LINES.validate_python([i.data for i in singles]))
    columns: dict[str, list[Any]] = {name: [] for name in (*_FILLED, "updated_at")}
    for item in sorted(items, key=lambda i: i.seq):
        if item.op != "upsert":
            continue
        if item.kind in BATCH_KINDS:
            batch = batch_of(item)  # read in one pass with its page, or validated now
            lines = batch.lines
            for name in LINE_FIELDS:
                columns[name].extend(getattr(lines, name))
            columns["external_id"].extend(lines.external_id)
            columns["patient_mrn"].extend(lines.mrn)
            columns["guarantor_mrn"].extend(lines.guarantor_mrn)
            columns["portal_id"].extend(batch.ids)
            columns["source"].extend(repeat("import", lines.size))
            columns["updated_at"].extend(repeat(batch.updated_at, lines.size))
        else:
            record = next(records)
            row = line_row(record, record.updated_at)
            row.update(portal_id=item.id, source=record.source)
            for name, values in columns.items():
                values.append(row[name])
    count = len(columns["external_id"])
    # A line given more than once keeps its last row (the highest seq).
    last = dict(zip(columns["external_id"], range(count), strict=True))
    if len(last) < count:
        kept = sorted(last.values())
        columns = {name: [values[n] for n in kept] for name, values in columns.items()}
    fields = (*LINE_FIELDS, "patient_mrn", "guarantor_mrn", "portal_id", "source", "updated_at")
    insert_columns(session.connection(), table, columns, conflict="external_id", update=fields)


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
