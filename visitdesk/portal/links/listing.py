"""The paged list of a practice's account links, searched and ordered in SQL.

Pages follow a keyset (the last row's account name and ids) rather than an offset, so the
hundredth page costs what the first does at 100,000 accounts.
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from visitdesk.portal.errors import Unprocessable
from visitdesk.portal.models import AccountLink, Patient, PatientAccount
from visitdesk.sync.wire_links import LinkPage, LinkRow, LinkState

#: The list's order; the cursor holds these values of a page's last row.
_ORDER = (PatientAccount.last_name, PatientAccount.first_name, PatientAccount.id, AccountLink.id)
_MAX_TERMS = 4


def encode_cursor(values: tuple[str, str, str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str, str, str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeError) as exc:
        raise Unprocessable("The page cursor is not valid; start from the first page.") from exc
    if not (
        isinstance(values, list) and len(values) == 4 and all(isinstance(v, str) for v in values)
    ):
        raise Unprocessable("The page cursor is not valid; start from the first page.")
    return values[0], values[1], values[2], values[3]


def account_login(account: PatientAccount) -> str:
    return account.email or account.username or ""


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(
    query: Select[tuple[AccountLink, PatientAccount, Patient]], text: str
) -> Select[tuple[AccountLink, PatientAccount, Patient]]:
    """Every word must appear in the account (name, email, username) or the patient (name, MRN)."""
    fields = (
        PatientAccount.first_name,
        PatientAccount.last_name,
        PatientAccount.email,
        PatientAccount.username,
        Patient.first_name,
        Patient.last_name,
        Patient.mrn,
    )
    for term in text.casefold().split()[:_MAX_TERMS]:
        pattern = f"%{_escape(term)}%"
        query = query.where(
            or_(*(func.lower(field).like(pattern, escape="\\") for field in fields))
        )
    return query


def list_links(
    session: Session,
    practice_id: str,
    *,
    search: str = "",
    state: LinkState = "all",
    after: str | None = None,
    limit: int = 200,
) -> LinkPage:
    query = (
        select(AccountLink, PatientAccount, Patient)
        .join(PatientAccount, PatientAccount.id == AccountLink.account_id)
        .join(Patient, Patient.id == AccountLink.patient_id)
        .where(AccountLink.practice_id == practice_id)
    )
    if state == "active":
        query = query.where(AccountLink.revoked_at.is_(None))
    elif state == "revoked":
        query = query.where(AccountLink.revoked_at.is_not(None))
    if search.strip():
        query = _search(query, search)
    if after is not None:
        query = query.where(tuple_(*_ORDER) > tuple_(*decode_cursor(after)))
    rows = session.execute(query.order_by(*_ORDER).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [link_row(link, account, patient) for link, account, patient in rows]
    next_cursor = None
    if more and rows:
        link, account, _patient = rows[-1]
        next_cursor = encode_cursor((account.last_name, account.first_name, account.id, link.id))
    return LinkPage(rows=out, next_cursor=next_cursor)


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
