"""Importing patient ledgers from the practice management system's CSV export.

Same rules as the patient import (see `csv_import`): UTF-8 only, a header row matched
case-insensitively, line numbers as a spreadsheet shows them, every row checked before anything is
saved, all or nothing, re-importing the same file changes nothing, progress and cancel.

**Columns**: `line_id`, `mrn`, `type`, `posted_date`, `description`, `amount` are required;
`guarantor_mrn`, `service_date`, `code`, `provider`, `responsibility` are optional.

- line_id: the practice system's id of the line, 1-64 characters, unique within the file.
- mrn: the patient the line is for; guarantor_mrn: the responsible party whose account and
  statement the line belongs to (empty: the patient). Both must be patients already in VisitDesk.
- type: charge, payment or adjustment (also "pmt", "adj").
- posted_date (required) and service_date (optional): YYYY-MM-DD or MM/DD/YYYY, not in the future.
- amount: dollars as on the ledger, e.g. 185.00, -25.00, $1,200.50 or (25.00) for a negative; at
  most two decimals. Charges are positive, payments negative; adjustments may be either.
- responsibility: patient or insurance (also "pt", "ins"); empty means patient.
- description: 1-200 characters; code up to 20; provider up to 200.

Saved lines are queued for the portal (`PUT /ledger`, batches of 5000) so patients see their
balance there. Lines of payments made on the portal ("PORTAL-..." ids) cannot be changed by a file.
"""

from __future__ import annotations

import re
import threading
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.commands import UPSERT_LEDGER_COLUMNS
from visitdesk.api.wire import MAX_UPSERT_BATCH
from visitdesk.api.wire_billing import MAX_LINE_CENTS, LedgerColumns, LedgerLineRecord
from visitdesk.desktop.models import outbox
from visitdesk.desktop.models.billing import LINE_FIELDS, LedgerLine, line_row
from visitdesk.desktop.models.bulk import bulk_insert, chunks
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.csv_import import (
    EARLIEST_DATE,
    ImportReport,
    Progress,
    _begin,
    _Cancelled,
    _cells,
    _friendly,
    _rows,
    _Ticker,
)
from visitdesk.desktop.models.csv_read import parse_date
from visitdesk.desktop.models.schema import OutboxEntry, table_of
from visitdesk.desktop.models.store import LocalStore

#: Lines per outbox item (one PUT to the portal): the portal's largest batch, since the portal
#: writes a large ledger faster in fewer, larger transactions.
LEDGER_UPLOAD_BATCH = MAX_UPSERT_BATCH

LEDGER_REQUIRED = ("line_id", "mrn", "type", "posted_date", "description", "amount")
LEDGER_OPTIONAL = ("guarantor_mrn", "service_date", "code", "provider", "responsibility")

_KINDS = {
    "charge": "charge",
    "chg": "charge",
    "payment": "payment",
    "pmt": "payment",
    "adjustment": "adjustment",
    "adj": "adjustment",
}
_RESPONSIBILITY = {
    "": "patient",
    "patient": "patient",
    "pt": "patient",
    "insurance": "insurance",
    "ins": "insurance",
}
_AMOUNT = re.compile(r"^(-)?\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")


def parse_amount(value: str) -> int:
    """Dollars to cents: 185, 185.5, -25.00, $1,200.50, (25.00); never more than two decimals."""
    text = value.strip().replace(" ", "")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.startswith("-$"):
        text = "-" + text[2:]
    match = _AMOUNT.match(text)
    if not text or match is None:
        raise ValueError(
            f"amount '{value.strip()}' is not an amount of money; write it like 185.00 or -25.00."
        )
    cents = int(match[2].replace(",", "")) * 100 + int((match[3] or "0").ljust(2, "0"))
    if match[1]:
        negative = not negative
    cents = -cents if negative else cents
    if abs(cents) > MAX_LINE_CENTS:
        raise ValueError(f"amount '{value.strip()}' is larger than $1,000,000.00.")
    return cents


def _parse_line(cells: dict[str, str], today: date) -> LedgerLineRecord:
    errors: list[str] = []
    kind = _KINDS.get(cells.get("type", "").lower())
    if kind is None:
        errors.append(f"type '{cells.get('type', '')}' must be charge, payment or adjustment.")
    who = _RESPONSIBILITY.get(cells.get("responsibility", "").lower())
    if who is None:
        errors.append(f"responsibility '{cells['responsibility']}' must be patient or insurance.")
    posted: date | None = None
    service: date | None = None
    for column in ("posted_date", "service_date"):
        raw = cells.get(column, "")
        if not raw and column == "service_date":
            continue
        try:
            day = parse_date(raw, column)
            if day > today:
                raise ValueError(f"{column} {day.isoformat()} is in the future.")
            if day < EARLIEST_DATE:
                raise ValueError(f"{column} {day.isoformat()} is before 1900.")
        except ValueError as error:
            errors.append(str(error))
            continue
        if column == "posted_date":
            posted = day
        else:
            service = day
    amount = 0
    try:
        amount = parse_amount(cells.get("amount", ""))
    except ValueError as error:
        errors.append(str(error))
    else:
        if kind == "charge" and amount <= 0:
            errors.append(
                "a charge must be a positive amount; reduce a balance with an adjustment."
            )
        if kind == "payment" and amount >= 0:
            errors.append(
                "a payment must be a negative amount (it reduces the balance), e.g. -25.00."
            )
    line_id = cells.get("line_id", "")
    if line_id.upper().startswith("PORTAL-"):
        errors.append(f"line_id {line_id} is reserved for payments made on the portal.")
    values: dict[str, Any] = {
        "external_id": line_id,
        "mrn": cells.get("mrn", ""),
        "guarantor_mrn": cells.get("guarantor_mrn", "") or cells.get("mrn", ""),
        "kind": kind or "charge",
        "service_date": service,
        "posted_date": posted or EARLIEST_DATE,
        "code": cells.get("code", ""),
        "description": cells.get("description", ""),
        "provider": cells.get("provider", ""),
        "amount_cents": amount,
        "responsibility": who or "patient",
    }
    try:
        record = LedgerLineRecord.model_validate(values)
    except ValidationError as error:
        friendly = _friendly(error).replace("external_id", "line_id")
        errors.append(friendly.replace("amount_cents", "amount"))
        raise ValueError(" ".join(errors)) from None
    if errors:
        raise ValueError(" ".join(errors))
    return record


def import_ledger_csv(
    store: LocalStore,
    path: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ImportReport:
    """Check and import a ledger CSV (see the module docstring); all or nothing."""
    report, table = _begin(path, LEDGER_REQUIRED, LEDGER_OPTIONAL)
    if table is None:
        return report
    ticker = _Ticker(2 * report.rows_read, progress, cancel)
    names = LEDGER_REQUIRED + LEDGER_OPTIONAL
    today = date.today()
    known = store.patient_mrns()
    with store.read() as session:
        portal_lines = set(
            session.scalars(select(LedgerLine.external_id).where(LedgerLine.source == "portal"))
        )
    records: list[LedgerLineRecord] = []
    first_line: dict[str, int] = {}
    try:
        for line, raw in _rows(table, report, ticker):
            try:
                record = _parse_line(_cells(table, raw, names), today)
            except ValueError as error:
                report.add_error(line, str(error))
                continue
            if (seen := first_line.setdefault(record.external_id, line)) != line:
                report.add_error(
                    line, f"line_id {record.external_id} appears twice (also on line {seen})."
                )
                continue
            unknown = [
                m for m in dict.fromkeys((record.mrn, record.guarantor_mrn)) if m not in known
            ]
            if unknown:
                column = "mrn" if unknown[0] == record.mrn else "guarantor_mrn"
                report.add_error(
                    line, f"no patient with MRN {unknown[0]} ({column}); import the patients first."
                )
                continue
            if record.external_id in portal_lines:
                report.add_error(line, f"line_id {record.external_id} is a portal payment.")
                continue
            records.append(record)
        if report.error_count:
            return report
        with store.write() as uow:
            _write_lines(uow.session, records, report, ticker)
            ticker.finish()
    except _Cancelled:
        report.cancelled = True
        report.created = report.updated = report.unchanged = report.outbox_items = 0
    return report


_COMPARED = ("patient_mrn", "guarantor_mrn", *LINE_FIELDS)


def _write_lines(
    session: Session, records: list[LedgerLineRecord], report: ImportReport, ticker: _Ticker
) -> None:
    table = table_of(LedgerLine)
    existing: dict[str, tuple[Any, ...]] = {}
    columns = [table.c.external_id, *(table.c[f] for f in _COMPARED)]
    for part in chunks([r.external_id for r in records]):
        for found in session.execute(select(*columns).where(table.c.external_id.in_(part))):
            existing[found.external_id] = tuple(found)[1:]
    now = utcnow()
    changed: list[LedgerLineRecord] = []
    rows: list[dict[str, Any]] = []
    for record in records:
        ticker.step()
        row = line_row(record, now)
        before = existing.get(record.external_id)
        if before is None:
            report.created += 1
        elif before != tuple(row[f] for f in _COMPARED):
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        row["source"] = "import"
        changed.append(record)
        rows.append(row)
    fields = (*_COMPARED, "updated_at")
    bulk_insert(session, table, rows, conflict="external_id", update=fields)
    batches = list(chunks(changed, LEDGER_UPLOAD_BATCH))
    entries = [
        outbox.new_entry(
            UPSERT_LEDGER_COLUMNS,
            {},
            LedgerColumns.of(batch),
            f"Upload {len(batch)} ledger lines from {report.path.name}"
            + (f" (part {n} of {len(batches)})" if len(batches) > 1 else ""),
        )
        for n, batch in enumerate(batches, start=1)
    ]
    bulk_insert(session, table_of(OutboxEntry), entries)
    report.outbox_items = len(entries)
