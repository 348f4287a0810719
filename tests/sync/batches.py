"""Bodies of bulk outbox items for tests: synthetic patients and ledger lines (no real person)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from visitdesk.api.wire import PatientRecord, PatientUpsert
from visitdesk.api.wire_billing import LedgerLineRecord, LedgerUpsert


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
