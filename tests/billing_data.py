"""Building local stores with patients and realistic ledgers for billing tests and benchmarks."""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime
from pathlib import Path

from visitdesk.desktop.models import billing
from visitdesk.desktop.models.bulk import bulk_insert
from visitdesk.desktop.models.schema import Patient, table_of
from visitdesk.desktop.models.store import LocalStore, PracticeMeta
from visitdesk.portal.demo.seed_billing import account_lines

LEDGER_HEADER = [
    "line_id",
    "mrn",
    "guarantor_mrn",
    "type",
    "service_date",
    "posted_date",
    "code",
    "description",
    "provider",
    "amount",
    "responsibility",
]

PRACTICE = PracticeMeta(
    "p1", "demo", "Maple Grove Family Medicine", "America/New_York", "https://portal.example.org"
)


def ready_settings(store: LocalStore) -> billing.StatementSettings:
    settings = billing.StatementSettings(
        practice_name=PRACTICE.name,
        practice_address=["120 Main Street, Suite 200", "Northampton, MA 01060"],
        practice_phone="(413) 555-0142",
        billing_phone="(413) 555-0199",
        remit_to=[PRACTICE.name, "Patient Billing Office", "PO Box 4410", "Springfield, MA 01101"],
        pay_url="https://portal.example.org/pay",
    )
    with store.write() as uow:
        billing.save_settings(uow.session, settings)
    return settings


def add_patients(store: LocalStore, count: int, *, prefix: str = "G") -> list[str]:
    rng = random.Random(count)
    now = datetime.now(UTC)
    rows = [
        {
            "mrn": f"{prefix}{n:06d}",
            "first_name": rng.choice(["Ana", "Ben", "Chloé", "Dev", "Eve", "Zoë"]),
            "last_name": rng.choice(["Ruiz", "O'Brien", "Nguyen", "Smith-Jones", "Patel"]),
            "date_of_birth": date(1970 + n % 40, 1 + n % 12, 1 + n % 28),
            "sex": "U",
            "middle_name": "",
            "phone": "",
            "email": "",
            "address_line1": f"{1 + n % 9000} Elm Street",
            "address_line2": "Apt 3" if n % 7 == 0 else "",
            "city": "Springfield",
            "state": "MA",
            "postal_code": f"011{n % 100:02d}",
            "updated_at": now,
        }
        for n in range(count)
    ]
    with store.write() as uow:
        for start in range(0, len(rows), 5000):
            bulk_insert(uow.session, table_of(Patient), rows[start : start + 5000])
    return [row["mrn"] for row in rows]


def ledger_rows(mrns: list[str], today: date, *, seed: int = 3) -> list[list[str]]:
    """CSV rows of realistic ledgers; every account owes something."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    number = 0
    for mrn in mrns:
        for line in account_lines(rng, mrn, mrn, today, owes=True):
            number += 1
            rows.append(
                [
                    f"X{number:08d}",
                    line["mrn"],
                    line["guarantor_mrn"],
                    line["kind"],
                    line["service_date"].isoformat() if line["service_date"] else "",
                    line["posted_date"].isoformat(),
                    line["code"],
                    line["description"],
                    line["provider"],
                    f"{line['amount_cents'] / 100:.2f}",
                    line["responsibility"],
                ]
            )
    return rows


def write_ledger_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEDGER_HEADER)
        writer.writerows(rows)
    return path
