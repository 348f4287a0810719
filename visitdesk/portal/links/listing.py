"""The paged list of a practice's account links, searched and ordered in SQL.

Pages follow a keyset (the last row's account name and ids) rather than an offset, so the
hundredth page costs what the first does at 100,000 accounts.
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from visitdesk.api.wire_links import LinkPage, LinkRow, LinkState
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount
from visitdesk.portal.web.errors import Unprocessable

#: Pages follow accounts in name order; the cursor holds the last account's sort key.
_ACCOUNT_ORDER = (PatientAccount.last_name, PatientAccount.first_name, PatientAccount.id)
_MAX_TERMS = 4


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


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _link_conditions(practice_id: str, search: str, state: LinkState) -> list[ColumnElement[bool]]:
    """Which links are listed: the practice's, in `state`, and every search word found in the
    account (name, email, username) or the patient (name, MRN) of the link."""
    conditions: list[ColumnElement[bool]] = [AccountLink.practice_id == practice_id]
    if state == "active":
        conditions.append(AccountLink.revoked_at.is_(None))
    elif state == "revoked":
        conditions.append(AccountLink.revoked_at.is_not(None))
    fields = (
        PatientAccount.first_name,
        PatientAccount.last_name,
        PatientAccount.email,
        PatientAccount.username,
        Patient.first_name,
        Patient.last_name,
        Patient.mrn,
    )
    for term in search.casefold().split()[:_MAX_TERMS]:
        pattern = f"%{_escape(term)}%"
        conditions.append(or_(*(func.lower(f).like(pattern, escape="\\") for f in fields)))
    return conditions


def list_links(
    session: Session,
    practice_id: str,
    *,
    search: str = "",
    state: LinkState = "all",
    after: str | None = None,
    limit: int = 200,
) -> LinkPage:
    """Up to `limit` accounts in name order with their listed links.

    The accounts are read along their name index, each kept if it has a listed link (an
    indexed lookup by account), so a page costs the same at the start and deep in the list.
    """
    conditions = _link_conditions(practice_id, search, state)
    has_link = (
        select(AccountLink.id)
        .join(Patient, Patient.id == AccountLink.patient_id)
        .where(AccountLink.account_id == PatientAccount.id, *conditions)
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
        .where(AccountLink.account_id.in_(list(by_id)), *conditions)
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
