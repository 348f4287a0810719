"""Patient ledgers on the portal: the desk's bulk upsert and the balances patients see."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from visitdesk.api.sql_rows import insert_columns
from visitdesk.api.wire import UpsertResult
from visitdesk.api.wire_billing import (
    LEDGER_COLUMNS,
    AgingBuckets,
    LedgerColumns,
    LedgerLineOut,
    PatientBalance,
)
from visitdesk.portal.persistence.clock import local_today
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import (
    AccountLink,
    Patient,
    Practice,
    PracticeSetting,
    new_id,
    new_ids,
)
from visitdesk.portal.persistence.models_billing import LedgerLine, Payment
from visitdesk.portal.persistence.out import datetime_text
from visitdesk.portal.records.records import (
    _reject_duplicates,
    patient_ids_by_mrn,
    require_patients,
    rows_by_external_id,
)
from visitdesk.portal.web.errors import Unprocessable

#: PracticeSetting key: may patients pay more than they owe (a credit on account)?
ALLOW_PREPAYMENT = "allow_prepayment"

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


def line_out(row: LedgerLine, mrn: str, guarantor_mrn: str) -> LedgerLineOut:
    return LedgerLineOut(
        id=row.id,
        external_id=row.external_id,
        mrn=mrn,
        guarantor_mrn=guarantor_mrn,
        patient_id=row.patient_id,
        guarantor_patient_id=row.guarantor_patient_id,
        source="portal" if row.source == "portal" else "import",
        payment_id=row.payment_id,
        updated_at=row.updated_at,
        **{name: getattr(row, name) for name in LINE_FIELDS},
    )


def setting_enabled(session: Session, practice_id: str, key: str) -> bool:
    value = session.scalar(
        select(PracticeSetting.value).where(
            PracticeSetting.practice_id == practice_id, PracticeSetting.key == key
        )
    )
    try:
        return bool(json.loads(value)) if value is not None else False
    except ValueError:
        return False


#: What describes a line (compared with the stored line, and updated): not what names it.
_VALUES = tuple(
    name for name in LEDGER_COLUMNS if name not in {"mrn", "guarantor_mrn", "external_id"}
)


def upsert_ledger(session: Session, practice_id: str, batch: LedgerColumns) -> UpsertResult:
    """Create or update ledger lines by the practice system's line id; real changes are fed.

    The batch stays in columns throughout: new lines go in zipped from them, and the feed item
    is the fed lines' columns as they came (a line still one object each cost the portal a
    third of a push)."""
    external_ids = batch.external_id
    _reject_duplicates(external_ids, "external_id", "lines")
    patient_ids = patient_ids_by_mrn(session, practice_id, [*batch.mrn, *batch.guarantor_mrn])
    require_patients(patient_ids, list(zip(batch.mrn, batch.guarantor_mrn, strict=True)), "lines")
    patients = [patient_ids[mrn] for mrn in batch.mrn]
    guarantors = [patient_ids[mrn] for mrn in batch.guarantor_mrn]
    existing: dict[str, LedgerLine] = rows_by_external_id(
        session, LedgerLine, practice_id, external_ids
    )

    now = utcnow()
    columns = batch.columns()
    created = [n for n, external_id in enumerate(external_ids) if external_id not in existing]
    updates: list[dict[str, Any]] = []
    changed: dict[int, str] = {}  # position -> id of an existing line that changes
    for n, external_id in enumerate(external_ids):
        current = existing.get(external_id)
        if current is None:
            continue
        if current.source == "portal":
            raise Unprocessable(
                f"line {external_id!r} is a portal payment; the practice system cannot change it."
            )
        values = {name: columns[name][n] for name in _VALUES}
        values.update(patient_id=patients[n], guarantor_patient_id=guarantors[n])
        if any(getattr(current, k) != v for k, v in values.items()):
            changed[n] = current.id
            updates.append({"id": current.id, "updated_at": now, **values})
    ids = dict(zip(created, new_ids(len(created)), strict=True))
    if created:
        new = batch if len(created) == batch.size else batch.take(created)
        insert_columns(
            session.connection(),
            cast(Table, LedgerLine.__table__),
            {
                "id": list(ids.values()),
                "external_id": new.external_id,
                "patient_id": [patients[n] for n in created],
                "guarantor_patient_id": [guarantors[n] for n in created],
                **{name: getattr(new, name) for name in _VALUES},
            },
            same={"practice_id": practice_id, "source": "import", "updated_at": now},
        )
    if updates:
        session.execute(update(LedgerLine), updates)
    ids.update(changed)
    if ids:
        fed = sorted(ids)
        lines = batch if len(fed) == batch.size else batch.take(fed)
        # The whole batch is one feed item (LedgerColumnsOut), its JSON put together from a few
        # encoder calls: a line's id and patients are portal ids, the lines the batch's own JSON.
        data = (
            f'{{"updated_at":"{datetime_text(now)}",'
            f'"ids":{json.dumps([ids[n] for n in fed])},'
            f'"patient_ids":{json.dumps([patients[n] for n in fed])},'
            f'"guarantor_patient_ids":{json.dumps([guarantors[n] for n in fed])},'
            f'"lines":{lines.model_dump_json()}}}'
        )
        append_changes(session, practice_id, [NewChange("ledger_columns", new_id(), data)])
    return UpsertResult(created=len(created), updated=len(updates), unchanged=batch.size - len(ids))


def patient_balance_cents(session: Session, patient_id: str) -> int:
    """What the patient owes: the sum of the patient-responsibility lines of their own visits."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerLine.amount_cents), 0)).where(
            LedgerLine.patient_id == patient_id, LedgerLine.responsibility == "patient"
        )
    )
    return int(total or 0)


def aging_of(session: Session, patient_id: str, as_of: date) -> tuple[AgingBuckets, int]:
    """Aging of the patient's balance, and the insurance still pending on their lines."""
    rows = session.execute(
        select(LedgerLine.posted_date, LedgerLine.amount_cents, LedgerLine.responsibility).where(
            LedgerLine.patient_id == patient_id
        )
    ).all()
    aging = AgingBuckets.of_lines(
        ((r.posted_date, int(r.amount_cents)) for r in rows if r.responsibility == "patient"),
        as_of,
    )
    pending = sum(int(r.amount_cents) for r in rows if r.responsibility == "insurance")
    return aging, max(0, pending)


#: What a patient reads when the portal has no card processor.
NO_ONLINE_PAYMENT = "Online card payment is not available on this portal."


def how_to_pay(practice: Practice) -> str:
    """Plain words for a patient when the portal takes no cards."""
    phone = f" at {practice.phone}" if practice.phone else ""
    return (
        f"{NO_ONLINE_PAYMENT} To pay {practice.name}, call the office{phone}, pay at the front "
        "desk at your next visit, or mail a check with the payment slip of your statement."
    )


def balances(session: Session, account_id: str, online_payment: bool) -> list[PatientBalance]:
    """The balance of every patient linked to the account, in the order the links were made."""
    rows = session.execute(
        select(Patient, Practice)
        .join(AccountLink, AccountLink.patient_id == Patient.id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(AccountLink.account_id == account_id, AccountLink.revoked_at.is_(None))
        .order_by(AccountLink.created_at, Patient.last_name, Patient.first_name)
    ).all()
    result = []
    for patient, practice in rows:
        aging, pending = aging_of(session, patient.id, local_today(practice.timezone))
        last_payment = session.scalar(
            select(func.max(Payment.created_at)).where(
                Payment.patient_id == patient.id, Payment.status == "approved"
            )
        )
        result.append(
            PatientBalance(
                patient_id=patient.id,
                practice_id=practice.id,
                practice_name=practice.name,
                first_name=patient.first_name,
                last_name=patient.last_name,
                balance_cents=aging.total,
                pending_insurance_cents=pending,
                aging=aging,
                allow_prepayment=setting_enabled(session, practice.id, ALLOW_PREPAYMENT),
                last_payment_at=last_payment,
                online_payment_available=online_payment,
                how_to_pay="" if online_payment else how_to_pay(practice),
            )
        )
    return result
