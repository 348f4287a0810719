"""Synthetic patient ledgers for the demo, the tests and the benchmarks.

A visit produces what a practice management system would post: the procedure charges billed to the
insurer, a copay collected at the desk, then (three to five weeks later) the insurer's payment, the
contractual adjustment and the patient's share transferred to patient responsibility; some patients
pay that share by check or card, some pay part of it, some not yet. About one patient in ten is
self-pay. Visits spread over the past eight months, so every aging bucket has accounts in it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from visitdesk.api.wire_billing import LedgerLineOut
from visitdesk.portal.demo import seed_data as words
from visitdesk.portal.persistence.feed import NewChange
from visitdesk.portal.persistence.models_billing import LedgerLine

PROCEDURES = (
    ("99213", "Office visit, established patient, low complexity", 18500),
    ("99214", "Office visit, established patient, moderate complexity", 26500),
    ("99203", "Office visit, new patient, low complexity", 21000),
    ("99396", "Preventive visit, established patient, 40-64 years", 29000),
    ("36415", "Venipuncture (blood draw)", 2500),
    ("85025", "Complete blood count (CBC) with differential", 3800),
    ("80053", "Comprehensive metabolic panel", 5200),
    ("90471", "Immunization administration", 3000),
    ("90686", "Influenza vaccine, quadrivalent, preservative free", 4500),
    ("93000", "Electrocardiogram (ECG) with interpretation", 7500),
    ("81002", "Urinalysis, non-automated, without microscopy", 1200),
    ("87880", "Rapid strep test", 2800),
)
PAYERS = (
    "Blue Cross Blue Shield",
    "Aetna",
    "UnitedHealthcare",
    "Cigna",
    "Medicare",
    "Harvard Pilgrim",
    "Tufts Health Plan",
)
#: Share of patients with any ledger activity.
ACTIVE_SHARE = 0.7


def visit_lines(
    rng: random.Random,
    mrn: str,
    guarantor_mrn: str,
    today: date,
    *,
    days_ago: int,
    self_pay: bool,
    leave_unpaid: bool = False,
) -> list[dict[str, Any]]:
    """The ledger lines of one visit `days_ago` days before `today` (only those posted by today)."""
    service = today - timedelta(days=days_ago)
    provider = rng.choice(words.PROVIDERS)[0]
    visit = [PROCEDURES[rng.choice((0, 0, 0, 1, 1, 2, 3))]]
    for extra in rng.sample(PROCEDURES[4:], rng.choice((0, 0, 1, 1, 2))):
        visit.append(extra)
    lines: list[dict[str, Any]] = []

    def add(kind: str, posted: date, code: str, text: str, cents: int, who: str) -> None:
        if posted <= today and cents:
            lines.append(
                {
                    "mrn": mrn,
                    "guarantor_mrn": guarantor_mrn,
                    "kind": kind,
                    "service_date": service,
                    "posted_date": posted,
                    "code": code,
                    "description": text,
                    "provider": provider,
                    "amount_cents": cents,
                    "responsibility": who,
                }
            )

    total = sum(price for _, _, price in visit)
    payer = rng.choice(PAYERS)
    billed_to = "patient" if self_pay else "insurance"
    for code, text, price in visit:
        add("charge", service + timedelta(days=1), code, text, price, billed_to)
    if self_pay:
        if rng.random() < 0.5:
            discount = total * 3 // 10
            add(
                "adjustment",
                service + timedelta(days=1),
                "SPDISC",
                "Self-pay discount (30%)",
                -discount,
                "patient",
            )
            total -= discount
        share = total
        settled = service + timedelta(days=1)
    else:
        if rng.random() < 0.45:
            copay = rng.choice((2000, 2500, 3000, 4000))
            add("charge", service, "COPAY", f"Copay \u2014 {payer}", copay, "patient")
            if rng.random() < 0.85 and not leave_unpaid:
                add("payment", service, "PMT", "Copay paid at check-in (card)", -copay, "patient")
        allowed = total * rng.randint(55, 80) // 100
        share = allowed * rng.choice((0, 10, 20, 20, 30)) // 100
        if rng.random() < 0.15:
            share = min(allowed, share + rng.choice((5000, 10000, 15000)))  # deductible
        if leave_unpaid and share < 2500:
            share = min(allowed, 2500 + allowed // 5)
        settled = service + timedelta(days=rng.randint(21, 38))
        eob = rng.randint(100000, 999999)
        add(
            "payment",
            settled,
            "INSPMT",
            f"Insurance payment \u2014 {payer} (EOB {eob})",
            -(allowed - share),
            "insurance",
        )
        add(
            "adjustment",
            settled,
            "CO-45",
            f"Contractual adjustment \u2014 {payer}",
            -(total - allowed),
            "insurance",
        )
        add(
            "adjustment",
            settled,
            "XFER",
            "Transferred to patient responsibility",
            -share,
            "insurance",
        )
        add(
            "charge",
            settled,
            "PTRESP",
            f"Patient share after {payer} (deductible/coinsurance)",
            share,
            "patient",
        )
    if share and not leave_unpaid and rng.random() < 0.55:
        paid = share if rng.random() < 0.7 else share // 2
        when = settled + timedelta(days=rng.randint(8, 50))
        how = rng.choice(
            (
                f"Payment \u2014 thank you (check #{rng.randint(1001, 9999)})",
                "Payment by phone (card)",
                "Payment at front desk (cash)",
            )
        )
        add("payment", when, "PMT", how, -paid, "patient")
    return lines


def account_lines(
    rng: random.Random,
    mrn: str,
    guarantor_mrn: str,
    today: date,
    *,
    owes: bool = False,
) -> list[dict[str, Any]]:
    """A patient's ledger over the past eight months; `owes` makes sure a balance is due."""
    self_pay = rng.random() < 0.1
    lines: list[dict[str, Any]] = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        lines += visit_lines(
            rng, mrn, guarantor_mrn, today, days_ago=rng.randint(2, 240), self_pay=self_pay
        )
    if owes:
        lines += visit_lines(
            rng,
            mrn,
            guarantor_mrn,
            today,
            days_ago=rng.randint(45, 150),
            self_pay=self_pay,
            leave_unpaid=True,
        )
    lines.sort(key=lambda line: (line["posted_date"], line["amount_cents"] < 0))
    return lines


def add_demo_ledgers(
    session: Session,
    rng: random.Random,
    new_uuid: Callable[[], str],
    practice_id: str,
    patients: list[dict[str, Any]],
    links: Iterable[dict[str, Any]],
    today: date,
    now: datetime,
) -> list[NewChange]:
    """Insert ledgers for a seeded practice; returns the feed items to append.

    Children linked to a portal account are on the account holder's guarantor account; patients
    with a portal account always owe something, so paying online can be tried at once.
    """
    by_id = {row["id"]: row for row in patients}
    links = list(links)
    holder_of_account = {
        link["account_id"]: link["patient_id"] for link in links if link["relationship"] == "self"
    }
    guarantor_of = {
        link["patient_id"]: holder_of_account[link["account_id"]]
        for link in links
        if link["relationship"] != "self" and link["account_id"] in holder_of_account
    }
    on_portal = {link["patient_id"] for link in links}
    id_of_mrn = {row["mrn"]: row["id"] for row in patients}
    rows: list[dict[str, Any]] = []
    changes: list[NewChange] = []
    number = 0
    for patient in patients:
        owes = patient["id"] in on_portal
        if not owes and rng.random() >= ACTIVE_SHARE:
            continue
        guarantor = by_id[guarantor_of.get(patient["id"], patient["id"])]
        for line in account_lines(rng, patient["mrn"], guarantor["mrn"], today, owes=owes):
            number += 1
            row = {
                "id": new_uuid(),
                "practice_id": practice_id,
                "external_id": f"L{number:08d}",
                "patient_id": id_of_mrn[line["mrn"]],
                "guarantor_patient_id": id_of_mrn[line["guarantor_mrn"]],
                "source": "import",
                "payment_id": None,
                "updated_at": now,
                **{k: v for k, v in line.items() if k not in ("mrn", "guarantor_mrn")},
            }
            rows.append(row)
            out = LedgerLineOut(
                id=row["id"],
                external_id=row["external_id"],
                patient_id=row["patient_id"],
                guarantor_patient_id=row["guarantor_patient_id"],
                updated_at=now,
                **line,
            )
            changes.append(NewChange.of("ledger_line", out, row["id"]))
    for start in range(0, len(rows), 10_000):
        session.execute(insert(LedgerLine), rows[start : start + 10_000])
    return changes
