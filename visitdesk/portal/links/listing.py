"""The paged list of a practice's account links, searched and ordered in SQL.

Pages follow a keyset (the last row's account name and ids) rather than an offset, so the
hundredth page costs what the first does at 100,000 accounts.
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import (
    ColumnElement,
    and_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from visitdesk.api.wire_links import LinkPage, LinkRow, LinkState
from visitdesk.portal.links.search import LinkSearch
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount
from visitdesk.portal.web.errors import Unprocessable

#: Pages follow accounts in name order; the cursor holds the last account's sort key.
_ACCOUNT_ORDER = (PatientAccount.last_name, PatientAccount.first_name, PatientAccount.id)


def encode_cursor(values: tuple[str, str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str, str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeError) as exc:
        raise Unprocessable(_BAD_CURSOR) from exc
    if not (
        isinstance(values, list) and len(values) == 3 and all(isinstance(v, str) for v in values)
    ):
        raise Unprocessable(_BAD_CURSOR)
    return values[0], values[1], values[2]


_BAD_CURSOR = "The page cursor is not valid; start from the first page."


def account_login(account: PatientAccount) -> str:
    return account.email or account.username or ""


def _state_conditions(state: LinkState) -> list[ColumnElement[bool]]:
    if state == "active":
        return [AccountLink.revoked_at.is_(None)]
    if state == "revoked":
        return [AccountLink.revoked_at.is_not(None)]
    return []


def list_links(
    session: Session,
    practice_id: str,
    *,
    search: str = "",
    state: LinkState = "all",
    after: str | None = None,
    limit: int = 200,
) -> LinkPage:
    """Up to `limit` accounts in name order with their listed links (`search`: see search.py).

    Without a search the accounts are read along their name index, each kept if it has a
    listed link (an indexed lookup by account), so a page costs the same at the start and deep
    in the list.
    """
    found = LinkSearch.of(practice_id, search, session.get_bind().dialect.name)
    states = _state_conditions(state)
    driver = found.rarest(session) if found.terms else None
    if driver is not None:
        # A word with few matches: only its links are read, and checked against the other
        # words (a separate condition on the practice's links would make SQLite read them all).
        listed = select(AccountLink.account_id).where(
            AccountLink.id.in_(found.links_of(driver)), *states
        )
        others = found.row_conditions(found_by=driver)
        if others:
            listed = (
                listed.join(Patient, Patient.id == AccountLink.patient_id)
                .join(PatientAccount, PatientAccount.id == AccountLink.account_id)
                .where(*others)
            )
        query = select(PatientAccount).where(PatientAccount.id.in_(listed))
    else:
        has_link = (
            select(AccountLink.id)
            .join(Patient, Patient.id == AccountLink.patient_id)
            .where(
                AccountLink.account_id == PatientAccount.id,
                AccountLink.practice_id == practice_id,
                *states,
                *found.row_conditions(),
            )
            .exists()
        )
        query = select(PatientAccount).where(has_link)
    if after is not None:
        query = query.where(tuple_(*_ACCOUNT_ORDER) > tuple_(*decode_cursor(after)))
    accounts = list(session.scalars(query.order_by(*_ACCOUNT_ORDER).limit(limit + 1)))
    more = len(accounts) > limit
    accounts = accounts[:limit]
    by_id = {account.id: account for account in accounts}
    links = session.execute(
        select(AccountLink, Patient)
        .join(Patient, Patient.id == AccountLink.patient_id)
        .join(PatientAccount, PatientAccount.id == AccountLink.account_id)
        .where(
            AccountLink.account_id.in_(list(by_id)),
            AccountLink.practice_id == practice_id,
            *states,
            *found.row_conditions(),
        )
        .order_by(AccountLink.created_at, AccountLink.id)
    ).all()
    per_account: dict[str, list[LinkRow]] = {account_id: [] for account_id in by_id}
    for link, patient in links:
        per_account[link.account_id].append(link_row(link, by_id[link.account_id], patient))
    rows = [row for account in accounts for row in per_account[account.id]]
    next_cursor = None
    if more and accounts:
        last = accounts[-1]
        next_cursor = encode_cursor((last.last_name, last.first_name, last.id))
    return LinkPage(rows=rows, next_cursor=next_cursor)


def link_row(link: AccountLink, account: PatientAccount, patient: Patient) -> LinkRow:
    return LinkRow(
        link_id=link.id,
        account_id=account.id,
        account_name=f"{account.first_name} {account.last_name}".strip(),
        account_login=account_login(account),
        account_last_sign_in=account.last_sign_in_at,
        account_locked=account.locked_at is not None,
        patient_id=patient.id,
        patient_name=f"{patient.last_name}, {patient.first_name}",
        mrn=patient.mrn,
        date_of_birth=patient.date_of_birth,
        relationship=link.relationship,
        method=link.method,  # type: ignore[arg-type]
        made_by=link.made_by,
        linked_at=link.created_at,
        revoked_at=link.revoked_at,
        revoke_reason=link.revoke_reason,
    )


def practice_link(session: Session, practice_id: str, link_id: str) -> AccountLink | None:
    link = session.get(AccountLink, link_id)
    return link if link is not None and link.practice_id == practice_id else None


def account_in_practice(session: Session, practice_id: str, account_id: str) -> bool:
    """Whether the account has (or had) a link to a patient of this practice."""
    return (
        session.scalar(
            select(AccountLink.id)
            .where(
                and_(AccountLink.practice_id == practice_id, AccountLink.account_id == account_id)
            )
            .limit(1)
        )
        is not None
    )
