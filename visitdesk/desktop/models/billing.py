"""Patient billing in the local store: ledgers, guarantor accounts, aging, statements, holds.

**Accounts.** Every ledger line names the patient the service was for and the *guarantor*, the
person responsible for the bill (the ledger CSV's `guarantor_mrn`, by default the patient). A
guarantor's account is all lines naming them; statements go to the guarantor, and the account
number printed on them is the guarantor's MRN.

**Balances and aging** count patient-responsibility lines only (insurance lines are shown as
pending insurance) and age by posting date, credits paying the oldest charges first; see
`visitdesk.sync.wire_billing` for why. The queries below do this in SQL for every account at once.

**Statement archive.** A statement's PDF is archived as a file beside the database with its
SHA-256 in `statements`; a reprint returns those exact bytes after checking the hash. A run's rows
are written in one transaction once all its PDFs exist, so a cancelled run leaves no trace.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.desktop.models.bulk import bulk_insert, delete_where_in
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.feed import register_applier
from visitdesk.desktop.models.schema import Base, Patient, table_of
from visitdesk.reports.address import patient_address_fits
from visitdesk.sync.wire import ChangeItem
from visitdesk.sync.wire_billing import BUCKETS, AgingBuckets, LedgerLineOut, PaymentOut

# --------------------------------------------------------------------------- tables


class LedgerLine(Base):
    """A charge, payment or adjustment; amounts are signed cents (charges positive)."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        Index(None, "guarantor_mrn", "posted_date"),
        Index(None, "patient_mrn", "posted_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The practice system's line id; portal payments carry "PORTAL-<payment id>".
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    portal_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    patient_mrn: Mapped[str] = mapped_column(String(32))
    guarantor_mrn: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    service_date: Mapped[date | None] = mapped_column(Date)
    posted_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    responsibility: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="import")
    updated_at: Mapped[datetime]


class PortalPayment(Base):
    """A card payment a patient made on the portal, as the feed reported it."""

    __tablename__ = "portal_payments"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_portal_id: Mapped[str] = mapped_column(String(64))
    patient_mrn: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    card_brand: Mapped[str] = mapped_column(String(32))
    card_last4: Mapped[str] = mapped_column(String(4))
    ledger_line_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class StatementRun(Base):
    """One batch of statements: who ran it, when, with which filters, and what it produced."""

    __tablename__ = "statement_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    statement_date: Mapped[date] = mapped_column(Date)
    filters: Mapped[dict[str, Any]]
    statement_count: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    #: The combined PDF for printing, relative to the archive folder.
    combined_path: Mapped[str] = mapped_column(String(500))
    combined_sha256: Mapped[str] = mapped_column(String(64))


class Statement(Base):
    """A statement as sent: its archived PDF (path relative to the archive, and its SHA-256)."""

    __tablename__ = "statements"
    __table_args__ = (Index(None, "guarantor_mrn", "statement_date"), Index(None, "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("statement_runs.id"))
    guarantor_mrn: Mapped[str] = mapped_column(String(32))
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    amount_due_cents: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    pdf_path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))


class AccountHold(Base):
    """A guarantor account that gets no statements for now (disputed, payment plan, ...)."""

    __tablename__ = "account_holds"

    guarantor_mrn: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class BillingSetting(Base):
    """Statement settings (remit-to address, messages...) as JSON values by key."""

    __tablename__ = "billing_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --------------------------------------------------------------------------- settings

DEFAULT_MESSAGES: dict[str, str] = {
    "current": (
        "Thank you for choosing {practice}. This statement shows what your insurance has "
        "processed and the part that is yours to pay. Please pay {amount_due} by {due_date}."
    ),
    "days_31_60": (
        "Your account has a balance more than 30 days old. Please pay {amount_due} by "
        "{due_date}, or call {billing_phone} if you have questions about your bill."
    ),
    "days_61_90": (
        "Your account is more than 60 days past due. Please pay {amount_due} by {due_date}. "
        "If you cannot pay in full, call {billing_phone} to set up a payment plan."
    ),
    "days_91_120": (
        "PAST DUE: your account is more than 90 days past due. Please pay {amount_due} now, or "
        "call {billing_phone} today to arrange payment."
    ),
    "over_120": (
        "FINAL NOTICE: your account is more than 120 days past due. If we do not receive "
        "{amount_due} by {due_date}, your account may be referred to a collection agency. "
        "Call {billing_phone} today."
    ),
    "credit": (
        "Your account has a credit of {credit}. No payment is due; the credit will be applied to "
        "future visits unless you ask us for a refund at {billing_phone}."
    ),
}
MESSAGE_KEYS = (*BUCKETS, "credit")
PLACEHOLDERS = ("practice", "amount_due", "due_date", "billing_phone", "credit", "account")


@dataclass
class StatementSettings:
    """What a statement says about the practice, and the messages chosen by account age."""

    practice_name: str = ""
    practice_address: list[str] = field(default_factory=list)
    practice_phone: str = ""
    billing_phone: str = ""
    remit_to: list[str] = field(default_factory=list)
    pay_url: str = ""
    due_days: int = 21
    messages: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MESSAGES))

    @property
    def ready(self) -> bool:
        """Statements need somewhere to send the money: a remit-to address."""
        return bool(self.practice_name and len(self.remit_to) >= 2)

    def message_for(self, aging: AgingBuckets) -> str:
        if aging.total < 0:
            return self.messages.get("credit") or DEFAULT_MESSAGES["credit"]
        key = aging.oldest_due() or "current"
        return self.messages.get(key) or DEFAULT_MESSAGES[key]


def check_template(template: str) -> str | None:
    """A plain-words problem with a message template, or None when it can be used."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return "A brace { or } is not closed; write {{ or }} for a literal brace."
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        return f"Unknown placeholder {{{unknown[0]}}}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}."
    return None


def fill_template(template: str, values: dict[str, str]) -> str:
    if check_template(template) is not None:
        return template
    return template.format(**{name: values.get(name, "") for name in PLACEHOLDERS})


_SETTINGS_KEY = "statement_settings"


def load_settings(
    session: Session, practice_name: str = "", portal_url: str = ""
) -> StatementSettings:
    raw = session.scalar(select(BillingSetting.value).where(BillingSetting.key == _SETTINGS_KEY))
    settings = StatementSettings(practice_name=practice_name)
    if portal_url:
        settings.pay_url = portal_url.rstrip("/") + "/pay"
    if raw:
        stored = json.loads(raw)
        for name, value in stored.items():
            if name == "messages":
                settings.messages.update({k: v for k, v in value.items() if k in MESSAGE_KEYS})
            elif hasattr(settings, name):
                setattr(settings, name, value)
    return settings


def save_settings(session: Session, settings: StatementSettings) -> None:
    for key in MESSAGE_KEYS:
        problem = check_template(settings.messages.get(key, ""))
        if problem:
            raise ValueError(problem)
    value = json.dumps(asdict(settings))
    statement = sqlite_insert(BillingSetting).values(key=_SETTINGS_KEY, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


# --------------------------------------------------------------------------- feed appliers

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


def line_row(record: Any, now: datetime) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in LINE_FIELDS}
    row.update(
        external_id=record.external_id,
        patient_mrn=record.mrn,
        guarantor_mrn=record.guarantor_mrn,
        updated_at=now,
    )
    return row


def _apply_ledger_lines(session: Session, items: list[ChangeItem]) -> None:
    table = table_of(LedgerLine)
    deletes = [item.id for item in items if item.op == "delete"]
    delete_where_in(session, table, "portal_id", deletes)
    rows = []
    for item in items:
        if item.op != "upsert":
            continue
        record = LedgerLineOut.model_validate(item.data)
        row = line_row(record, record.updated_at)
        row["portal_id"] = item.id
        row["source"] = record.source
        rows.append(row)
    fields = (*LINE_FIELDS, "patient_mrn", "guarantor_mrn", "portal_id", "source", "updated_at")
    bulk_insert(session, table, rows, conflict="external_id", update=fields)


def _apply_payments(session: Session, items: list[ChangeItem]) -> None:
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


register_applier("ledger_line", _apply_ledger_lines)
register_applier("payment", _apply_payments)


# --------------------------------------------------------------------------- accounts and aging


@dataclass(frozen=True)
class StatementFilters:
    """Which accounts a statement run includes."""

    min_balance_cents: int = 1
    #: Only accounts whose last statement is at least this many days old (None: any).
    min_days_since_last: int | None = 25
    exclude_zero: bool = True
    exclude_credit: bool = True
    exclude_holds: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AccountRow:
    guarantor_mrn: str
    first_name: str
    last_name: str
    balance_cents: int
    aging: AgingBuckets
    pending_insurance_cents: int
    last_statement_date: date | None
    on_hold: bool


#: Aging of every guarantor account as of :as_of, in SQL. Charges are summed per bucket by
#: posting date; credits then pay the oldest bucket first (step by step, `r*` is what is left).
_AGING_SQL = """
WITH lines AS (
    SELECT guarantor_mrn AS g, amount_cents AS amount, responsibility AS resp,
           CAST(julianday(:as_of) - julianday(posted_date) AS INTEGER) AS age
    FROM ledger_lines WHERE posted_date <= :as_of
), sums AS (
    SELECT g,
        SUM(CASE WHEN resp = 'patient' THEN amount ELSE 0 END) AS balance,
        SUM(CASE WHEN resp = 'insurance' THEN amount ELSE 0 END) AS insurance,
        SUM(CASE WHEN resp = 'patient' AND amount > 0 AND age <= 30 THEN amount ELSE 0 END) AS c0,
        SUM(CASE WHEN resp = 'patient' AND amount > 0 AND age BETWEEN 31 AND 60 THEN amount ELSE 0 END) AS c1,
        SUM(CASE WHEN resp = 'patient' AND amount > 0 AND age BETWEEN 61 AND 90 THEN amount ELSE 0 END) AS c2,
        SUM(CASE WHEN resp = 'patient' AND amount > 0 AND age BETWEEN 91 AND 120 THEN amount ELSE 0 END) AS c3,
        SUM(CASE WHEN resp = 'patient' AND amount > 0 AND age > 120 THEN amount ELSE 0 END) AS c4,
        -SUM(CASE WHEN resp = 'patient' AND amount < 0 THEN amount ELSE 0 END) AS credits
    FROM lines GROUP BY g
), s4 AS (SELECT *, MAX(c4 - credits, 0) AS b4, MAX(credits - c4, 0) AS r4 FROM sums
), s3 AS (SELECT *, MAX(c3 - r4, 0) AS b3, MAX(r4 - c3, 0) AS r3 FROM s4
), s2 AS (SELECT *, MAX(c2 - r3, 0) AS b2, MAX(r3 - c2, 0) AS r2 FROM s3
), s1 AS (SELECT *, MAX(c1 - r2, 0) AS b1, MAX(r2 - c1, 0) AS r1 FROM s2
), aged AS (SELECT *, c0 - r1 AS b0 FROM s1
), last AS (
    SELECT guarantor_mrn AS g, MAX(statement_date) AS last_date FROM statements GROUP BY guarantor_mrn
)
SELECT aged.g AS guarantor_mrn, p.first_name, p.last_name, aged.balance, aged.insurance,
       aged.b0, aged.b1, aged.b2, aged.b3, aged.b4, last.last_date,
       (h.guarantor_mrn IS NOT NULL) AS on_hold
FROM aged
LEFT JOIN patients p ON p.mrn = aged.g
LEFT JOIN last ON last.g = aged.g
LEFT JOIN account_holds h ON h.guarantor_mrn = aged.g
"""


def _where(filters: StatementFilters, as_of: date) -> tuple[str, dict[str, Any]]:
    clauses = ["1 = 1"]
    params: dict[str, Any] = {}
    if filters.exclude_zero:
        clauses.append("aged.balance != 0")
    if filters.exclude_credit:
        clauses.append("aged.balance >= 0")
    if filters.min_balance_cents:
        clauses.append("aged.balance >= :min_balance")
        params["min_balance"] = filters.min_balance_cents
    if filters.exclude_holds:
        clauses.append("h.guarantor_mrn IS NULL")
    if filters.min_days_since_last is not None:
        clauses.append(
            "(last.last_date IS NULL OR julianday(:as_of) - julianday(last.last_date) >= :min_days)"
        )
        params["min_days"] = filters.min_days_since_last
    return " AND ".join(clauses), params


def _account(row: Any) -> AccountRow:
    aging = AgingBuckets(
        current=row.b0, days_31_60=row.b1, days_61_90=row.b2, days_91_120=row.b3, over_120=row.b4
    )
    last = row.last_date
    return AccountRow(
        guarantor_mrn=row.guarantor_mrn,
        first_name=row.first_name or "",
        last_name=row.last_name or "",
        balance_cents=int(row.balance),
        aging=aging,
        pending_insurance_cents=max(0, int(row.insurance)),
        last_statement_date=date.fromisoformat(last) if isinstance(last, str) else last,
        on_hold=bool(row.on_hold),
    )


def accounts(
    session: Session,
    as_of: date,
    filters: StatementFilters | None = None,
    *,
    guarantor_mrns: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[AccountRow]:
    """Guarantor accounts with their aged balances, by guarantor MRN; filtered when asked."""
    where, params = _where(filters, as_of) if filters else ("1 = 1", {})
    params["as_of"] = as_of.isoformat()
    if guarantor_mrns is not None:
        marks = ", ".join(f":g{n}" for n in range(len(guarantor_mrns)))
        where += f" AND aged.g IN ({marks or 'NULL'})"
        params.update({f"g{n}": mrn for n, mrn in enumerate(guarantor_mrns)})
    sql = f"{_AGING_SQL} WHERE {where} ORDER BY aged.g"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_account(row) for row in session.execute(text(sql), params)]


def iter_accounts(session: Session, as_of: date, filters: StatementFilters) -> Iterator[AccountRow]:
    """Like `accounts`, streamed (a run over 100,000 accounts does not hold them all)."""
    where, params = _where(filters, as_of)
    params["as_of"] = as_of.isoformat()
    sql = f"{_AGING_SQL} WHERE {where} ORDER BY aged.g"
    for row in session.execute(text(sql).execution_options(yield_per=500), params):
        yield _account(row)


@dataclass(frozen=True)
class UnfitAddress:
    """A guarantor in a run whose name and address do not fit the envelope window."""

    guarantor_mrn: str
    name: str


@dataclass(frozen=True)
class RunPreview:
    count: int
    total_cents: int
    #: Accounts whose statement would have an address running out of the envelope window.
    unfit_addresses: tuple[UnfitAddress, ...] = ()


def preview(session: Session, as_of: date, filters: StatementFilters) -> RunPreview:
    where, params = _where(filters, as_of)
    params["as_of"] = as_of.isoformat()
    sql = f"SELECT COUNT(*), COALESCE(SUM(balance), 0) FROM ({_AGING_SQL} WHERE {where})"  # noqa: S608
    count, total = session.execute(text(sql), params).one()
    return RunPreview(int(count), int(total), unfit_addresses(session, where, params))


def unfit_addresses(session: Session, where: str, params: dict[str, Any]) -> tuple[UnfitAddress, ...]:
    """The run's guarantors whose address cannot be printed inside the envelope window."""
    sql = (
        f"SELECT run.guarantor_mrn, q.first_name, q.last_name, q.address_line1, q.address_line2, "  # noqa: S608
        f"q.city, q.state, q.postal_code FROM ({_AGING_SQL} WHERE {where}) AS run "
        "JOIN patients q ON q.mrn = run.guarantor_mrn ORDER BY q.last_name, q.first_name"
    )
    return tuple(
        UnfitAddress(row.guarantor_mrn, f"{row.last_name}, {row.first_name}")
        for row in session.execute(text(sql), params)
        if not patient_address_fits(row)
    )


def account_aging(session: Session, guarantor_mrn: str, as_of: date) -> AccountRow | None:
    found = accounts(session, as_of, guarantor_mrns=[guarantor_mrn])
    return found[0] if found else None


def guarantor_of(session: Session, patient_mrn: str) -> str:
    """The guarantor on the patient's latest ledger line (the patient when there is none)."""
    found = session.scalar(
        select(LedgerLine.guarantor_mrn)
        .where(LedgerLine.patient_mrn == patient_mrn)
        .order_by(LedgerLine.posted_date.desc(), LedgerLine.id.desc())
        .limit(1)
    )
    return found or patient_mrn


def patient_lines(
    session: Session, guarantor_mrn: str, after: date | None, as_of: date
) -> list[Any]:
    """Patient-responsibility lines of the account posted in (after, as_of], oldest first."""
    patient = table_of(Patient)
    query = (
        select(
            LedgerLine.posted_date,
            LedgerLine.service_date,
            LedgerLine.description,
            LedgerLine.code,
            LedgerLine.provider,
            LedgerLine.amount_cents,
            LedgerLine.patient_mrn,
            patient.c.first_name,
            patient.c.last_name,
        )
        .outerjoin(patient, patient.c.mrn == LedgerLine.patient_mrn)
        .where(
            LedgerLine.guarantor_mrn == guarantor_mrn,
            LedgerLine.responsibility == "patient",
            LedgerLine.posted_date <= as_of,
        )
        .order_by(LedgerLine.posted_date, LedgerLine.amount_cents.desc(), LedgerLine.id)
    )
    if after is not None:
        query = query.where(LedgerLine.posted_date > after)
    return list(session.execute(query))


def balance_through(session: Session, guarantor_mrn: str, day: date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerLine.amount_cents), 0)).where(
            LedgerLine.guarantor_mrn == guarantor_mrn,
            LedgerLine.responsibility == "patient",
            LedgerLine.posted_date <= day,
        )
    )
    return int(total or 0)


def ledger(session: Session, guarantor_mrn: str) -> list[LedgerLine]:
    return list(
        session.scalars(
            select(LedgerLine)
            .where(LedgerLine.guarantor_mrn == guarantor_mrn)
            .order_by(LedgerLine.posted_date, LedgerLine.id)
        )
    )


def recent_portal_payments(session: Session, limit: int = 50) -> list[PortalPayment]:
    return list(
        session.scalars(
            select(PortalPayment).order_by(PortalPayment.created_at.desc()).limit(limit)
        )
    )


# --------------------------------------------------------------------------- holds


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


# --------------------------------------------------------------------------- runs and archive


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunSummary:
    id: int
    created_at: datetime
    created_by: str
    statement_date: date
    filters: dict[str, Any]
    statement_count: int
    total_cents: int
    combined_path: str


def runs(session: Session, limit: int = 200) -> list[RunSummary]:
    rows = session.scalars(select(StatementRun).order_by(StatementRun.id.desc()).limit(limit))
    return [
        RunSummary(
            r.id,
            r.created_at,
            r.created_by,
            r.statement_date,
            dict(r.filters),
            r.statement_count,
            r.total_cents,
            r.combined_path,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class StatementSummary:
    id: int
    run_id: int | None
    guarantor_mrn: str
    guarantor_name: str
    statement_date: date
    amount_due_cents: int
    page_count: int
    created_by: str


def statements(
    session: Session,
    *,
    run_id: int | None = None,
    guarantor_mrn: str | None = None,
    limit: int = 1000,
) -> list[StatementSummary]:
    patient = table_of(Patient)
    query = (
        select(Statement, patient.c.first_name, patient.c.last_name)
        .outerjoin(patient, patient.c.mrn == Statement.guarantor_mrn)
        .order_by(Statement.id.desc())
        .limit(limit)
    )
    if run_id is not None:
        query = query.where(Statement.run_id == run_id).order_by(None).order_by(Statement.id)
    if guarantor_mrn is not None:
        query = query.where(Statement.guarantor_mrn == guarantor_mrn)
    return [
        StatementSummary(
            s.id,
            s.run_id,
            s.guarantor_mrn,
            f"{last or ''}, {first or ''}".strip(", "),
            s.statement_date,
            s.amount_due_cents,
            s.page_count,
            s.created_by,
        )
        for s, first, last in session.execute(query)
    ]


def statement_row(session: Session, statement_id: int) -> Statement | None:
    return session.get(Statement, statement_id)


def run_row(session: Session, run_id: int) -> StatementRun | None:
    return session.get(StatementRun, run_id)
