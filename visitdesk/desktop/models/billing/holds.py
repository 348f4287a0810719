"""Account holds (accounts that get no statements for now) and the portal payments list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from visitdesk.desktop.models.billing.accounts import account_aging, guarantor_of
from visitdesk.desktop.models.billing.tables import AccountHold, LedgerLine, PortalPayment
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.schema import Patient, table_of


def place_hold(session: Session, guarantor_mrn: str, reason: str, staff_name: str) -> None:
    statement = sqlite_insert(AccountHold).values(
        guarantor_mrn=guarantor_mrn, reason=reason, created_at=utcnow(), created_by=staff_name
    )
    session.execute(
        statement.on_conflict_do_update(index_elements=["guarantor_mrn"], set_={"reason": reason})
    )


def release_hold(session: Session, guarantor_mrn: str) -> None:
    session.execute(delete(AccountHold).where(AccountHold.guarantor_mrn == guarantor_mrn))


@dataclass(frozen=True)
class HoldRow:
    guarantor_mrn: str
    guarantor_name: str
    reason: str
    created_at: datetime
    created_by: str


def holds(session: Session) -> list[HoldRow]:
    """Every account on hold, by guarantor name."""
    patient = table_of(Patient)
    query = (
        select(AccountHold, patient.c.first_name, patient.c.last_name)
        .outerjoin(patient, patient.c.mrn == AccountHold.guarantor_mrn)
        .order_by(
            func.lower(func.coalesce(patient.c.last_name, "")),
            func.lower(func.coalesce(patient.c.first_name, "")),
            AccountHold.guarantor_mrn,
        )
    )
    return [
        HoldRow(
            h.guarantor_mrn,
            f"{last or ''}, {first or ''}".strip(", "),
            h.reason,
            h.created_at,
            h.created_by,
        )
        for h, first, last in session.execute(query)
    ]


@dataclass(frozen=True)
class HoldTarget:
    """The guarantor account a patient's statements go to, for placing a hold on it."""

    patient_mrn: str
    guarantor_mrn: str
    guarantor_name: str
    balance_cents: int | None
    on_hold: bool


def hold_target(session: Session, patient_mrn: str, as_of: date) -> HoldTarget:
    guarantor = guarantor_of(session, patient_mrn)
    found = session.execute(
        select(Patient.first_name, Patient.last_name).where(Patient.mrn == guarantor)
    ).first()
    name = f"{found.last_name}, {found.first_name}" if found else ""
    account = account_aging(session, guarantor, as_of)
    on_hold = session.get(AccountHold, guarantor) is not None
    return HoldTarget(
        patient_mrn,
        guarantor,
        name,
        account.balance_cents if account else None,
        on_hold,
    )


@dataclass(frozen=True)
class PaymentRow:
    id: str
    created_at: datetime
    patient_mrn: str
    patient_name: str
    guarantor_mrn: str | None
    guarantor_name: str
    amount_cents: int
    card_brand: str
    card_last4: str
    #: True once the payment's ledger line has reached this desk.
    posted: bool


def portal_payment_rows(session: Session, limit: int = 500) -> list[PaymentRow]:
    """The latest payments patients made on the portal, newest first."""
    patient = table_of(Patient).alias("patient")
    guarantor = table_of(Patient).alias("guarantor")
    line = table_of(LedgerLine)
    query = (
        select(
            PortalPayment,
            patient.c.first_name,
            patient.c.last_name,
            line.c.guarantor_mrn,
            guarantor.c.first_name.label("g_first"),
            guarantor.c.last_name.label("g_last"),
        )
        .outerjoin(patient, patient.c.mrn == PortalPayment.patient_mrn)
        .outerjoin(line, line.c.portal_id == PortalPayment.ledger_line_id)
        .outerjoin(guarantor, guarantor.c.mrn == line.c.guarantor_mrn)
        .order_by(PortalPayment.created_at.desc(), PortalPayment.id)
        .limit(limit)
    )
    return [
        PaymentRow(
            p.id,
            p.created_at,
            p.patient_mrn,
            f"{last or ''}, {first or ''}".strip(", "),
            g_mrn,
            f"{g_last or ''}, {g_first or ''}".strip(", "),
            p.amount_cents,
            p.card_brand,
            p.card_last4,
            g_mrn is not None,
        )
        for p, first, last, g_mrn, g_first, g_last in session.execute(query)
    ]
