"""Bodies of bulk outbox items for tests: synthetic patients and ledger lines (no real person),
and the data of the feed's batch items as the portal sends them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from visitdesk.api.wire import PatientRecord, PatientUpsert
from visitdesk.api.wire_billing import (
    LEDGER_COLUMNS,
    LedgerColumns,
    LedgerLineRecord,
    LedgerUpsert,
)


def patient_batch(mrns: Iterable[str], last_name: str = "Batch") -> PatientUpsert:
    return PatientUpsert(
        patients=[
            PatientRecord(
                mrn=mrn,
                first_name="Test",
                last_name=f"{last_name}{n}",
                date_of_birth=date(1970 + n % 40, 1 + n % 12, 1 + n % 28),
            )
            for n, mrn in enumerate(mrns)
        ]
    )


def ledger_batch(line_ids: Iterable[str], mrn: str, cents: int = 2500) -> LedgerUpsert:
    return LedgerUpsert(
        lines=[
            LedgerLineRecord(
                external_id=line_id,
                mrn=mrn,
                guarantor_mrn=mrn,
                kind="charge",
                posted_date=date(2026, 1, 5),
                description="Office visit",
                amount_cents=cents,
            )
            for line_id in line_ids
        ]
    )


def ledger_columns(line_ids: Iterable[str], mrn: str, cents: int = 2500) -> LedgerColumns:
    """:func:`ledger_batch`'s lines in columns, as the desk uploads an import."""
    return LedgerColumns.of(ledger_batch(line_ids, mrn, cents).lines)


def records_of(batch: LedgerColumns) -> list[LedgerLineRecord]:
    """The lines of a batch in columns, one object each (to compare with what was imported)."""
    return [
        LedgerLineRecord.model_construct(**dict(zip(LEDGER_COLUMNS, values, strict=True)))
        for values in zip(*batch.columns().values(), strict=True)
    ]


def line_data(
    external_id: str, description: str = "Office visit", **changes: Any
) -> dict[str, Any]:
    """One ledger line of a feed batch, as JSON data (patient and guarantor M1)."""
    return {
        "external_id": external_id,
        "mrn": "M1",
        "guarantor_mrn": "M1",
        "kind": "charge",
        "posted_date": "2026-11-20",
        "description": description,
        "amount_cents": 2500,
        **changes,
    }


def columns_data(lines: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """`lines` (as :func:`line_data` gives them) in columns, every column given."""
    defaults = {"service_date": None, "code": "", "provider": "", "responsibility": "patient"}
    return {name: [{**defaults, **line}[name] for line in lines] for name in LEDGER_COLUMNS}


#: The feed's batch kinds: the lines in columns (what the portal writes), and one object per
#: line (what an older portal wrote).
BATCH_KINDS = ("ledger_columns", "ledger_lines")


def batch_data(lines: list[dict[str, Any]], kind: str = "ledger_lines") -> dict[str, Any]:
    """The data of a batch item of `kind`: `lines` with portal ids LP-<external id>, all of
    patient P1."""
    return {
        "updated_at": "2026-12-04T10:00:00Z",
        "ids": [f"LP-{line['external_id']}" for line in lines],
        "patient_ids": ["P1"] * len(lines),
        "guarantor_patient_ids": ["P1"] * len(lines),
        "lines": columns_data(lines) if kind == "ledger_columns" else lines,
    }
