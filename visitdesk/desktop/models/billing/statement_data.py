"""What a statement shows, gathered from the store for one account or ten thousand by one function.

A run and a statement asked for at the desk both go through `statement_data`, so the two can never
disagree about which lines a statement lists or what it says. The data comes out as the report's
plain `StatementData`; rendering it is `visitdesk.reports.statement`'s job.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from visitdesk.desktop.models.billing.accounts import AccountRow
from visitdesk.desktop.models.billing.settings import StatementSettings, fill_template
from visitdesk.reports.address import mailing_lines
from visitdesk.reports.statement import (
    PracticeHeader,
    StatementData,
    StatementLine,
    money,
    us_date,
)

#: Accounts up to this many are read with their own lines only (one `IN` list); a larger run reads
#: every line in guarantor order once, which beats thousands of index look-ups.
SELECTIVE_LIMIT = 900

_LINES_SQL = """
SELECT l.guarantor_mrn, l.posted_date, l.service_date, l.code, l.description, l.provider,
       l.amount_cents, l.patient_mrn, p.first_name, p.last_name
FROM ledger_lines l LEFT JOIN patients p ON p.mrn = l.patient_mrn
WHERE l.responsibility = 'patient' AND l.posted_date <= ?{only}
ORDER BY l.guarantor_mrn, l.posted_date, l.amount_cents DESC, l.id
"""
_GUARANTORS_SQL = """
SELECT mrn, first_name, last_name, address_line1, address_line2, city, state, postal_code
FROM patients WHERE mrn IN ({marks})
"""


@dataclass(frozen=True)
class _Guarantor:
    first_name: str
    last_name: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str


def practice_header(settings: StatementSettings) -> PracticeHeader:
    return PracticeHeader(
        name=settings.practice_name,
        address_lines=tuple(settings.practice_address),
        phone=settings.practice_phone,
        billing_phone=settings.billing_phone,
        pay_url=settings.pay_url,
        remit_to=tuple(settings.remit_to),
    )


def _address(patient: _Guarantor | None) -> tuple[str, ...]:
    if patient is None:
        return ()
    return mailing_lines(
        patient.address_line1,
        patient.address_line2,
        patient.city,
        patient.state,
        patient.postal_code,
    )


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def statement_data(
    session: Session,
    accounts: Sequence[AccountRow],
    settings: StatementSettings,
    statement_date: date,
) -> Generator[StatementData, None, None]:
    """The statements of `accounts` (in guarantor MRN order, as `accounts()` returns them), from
    two sequential reads (guarantors, then lines in guarantor order) instead of queries per
    account: a large run spends its time rendering, not asking.

    Streamed: keep `session` open while consuming the iterator.
    """
    header = practice_header(settings)
    connection = session.connection()
    guarantors: dict[str, _Guarantor] = {}
    mrns = [account.guarantor_mrn for account in accounts]
    for start in range(0, len(mrns), SELECTIVE_LIMIT):
        part = mrns[start : start + SELECTIVE_LIMIT]
        sql = _GUARANTORS_SQL.format(marks=_marks(len(part)))
        for mrn, *fields in connection.exec_driver_sql(sql, tuple(part)):
            guarantors[mrn] = _Guarantor(*(field or "" for field in fields))
    params: tuple[str, ...] = (statement_date.isoformat(),)
    only = ""
    if len(mrns) <= SELECTIVE_LIMIT:
        only = f" AND l.guarantor_mrn IN ({_marks(len(mrns)) or 'NULL'})"
        params += tuple(mrns)
    lines = connection.exec_driver_sql(_LINES_SQL.format(only=only), params)
    row = lines.fetchone()
    for account in accounts:
        while row is not None and row[0] < account.guarantor_mrn:
            row = lines.fetchone()
        mine: list[Any] = []
        while row is not None and row[0] == account.guarantor_mrn:
            mine.append(row)
            row = lines.fetchone()
        yield _statement_from(
            account,
            mine,
            guarantors.get(account.guarantor_mrn),
            settings,
            header,
            statement_date,
        )


def _statement_from(
    account: AccountRow,
    rows: list[Any],
    guarantor: _Guarantor | None,
    settings: StatementSettings,
    header: PracticeHeader,
    statement_date: date,
) -> StatementData:
    last = account.last_statement_date
    if last is not None and last >= statement_date:
        last = None  # a second statement the same day repeats the whole period
    previous = 0
    items: list[StatementLine] = []
    for _g, posted, service, code, description, provider, amount, mrn, first, family in rows:
        posted_day = date.fromisoformat(posted) if isinstance(posted, str) else posted
        if last is not None and posted_day <= last:
            previous += int(amount)
            continue
        items.append(
            StatementLine(
                posted=posted_day,
                service=date.fromisoformat(service) if isinstance(service, str) else service,
                patient=f"{first or ''} {family or ''}".strip() or mrn,
                description=(f"{code} " if code and code.isdigit() else "") + description,
                provider=provider or "",
                amount_cents=int(amount),
            )
        )
    due = statement_date + timedelta(days=settings.due_days)
    name = (
        f"{guarantor.first_name} {guarantor.last_name}"
        if guarantor is not None
        else f"Account {account.guarantor_mrn}"
    )
    values = {
        "practice": settings.practice_name,
        "amount_due": money(max(0, account.aging.total)),
        "due_date": us_date(due),
        "billing_phone": settings.billing_phone or settings.practice_phone,
        "credit": money(max(0, -account.aging.total)),
        "account": account.guarantor_mrn,
    }
    oldest = account.aging.oldest_due()
    return StatementData(
        practice=header,
        account=account.guarantor_mrn,
        guarantor_name=name,
        address_lines=_address(guarantor),
        statement_date=statement_date,
        due_date=due,
        previous_balance_cents=previous,
        previous_statement_date=last,
        lines=tuple(items),
        aging=account.aging,
        pending_insurance_cents=account.pending_insurance_cents,
        message=fill_template(settings.message_for(account.aging), values),
        alert=oldest in ("days_91_120", "over_120"),
    )
