"""Guarantor accounts and their aging, for every account at once in SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from visitdesk.api.wire_billing import AgingBuckets
from visitdesk.desktop.models.billing.tables import LedgerLine, PortalPayment
from visitdesk.reports.address import patient_address_fits


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


def unfit_addresses(
    session: Session, where: str, params: dict[str, Any]
) -> tuple[UnfitAddress, ...]:
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
