"""What a manager does to a link or an account: revoke a link, lock and unlock an account.

Revoking takes effect in the same transaction: every patient-side query already ignores revoked
links, so the account's next call for that patient is refused. The account holder is told by
email, without naming the patient (an email may be read by someone else).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from visitdesk.api.wire_links import AccountState, LinkRow
from visitdesk.portal.links.listing import account_in_practice, link_row, practice_link
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.models import Patient, PatientAccount, Practice
from visitdesk.portal.web.errors import NotFound
from visitdesk.portal.web.notify import Notice

log = logging.getLogger(__name__)


def revoke_link(
    session: Session, practice_id: str, actor: audit.Actor, link_id: str, reason: str
) -> tuple[LinkRow, Notice | None]:
    link = practice_link(session, practice_id, link_id)
    if link is None:
        raise NotFound("No such link in this practice.")
    account = session.get(PatientAccount, link.account_id)
    patient = session.get(Patient, link.patient_id)
    assert account is not None and patient is not None
    if link.revoked_at is not None:
        return link_row(link, account, patient), None
    link.revoked_at = utcnow()
    link.revoked_by_staff_id = actor.id
    link.revoke_reason = reason
    audit.record(
        session,
        practice_id,
        actor,
        "link.revoked",
        "account_link",
        link.id,
        patient_id=link.patient_id,
        details={"account_id": link.account_id, "relationship": link.relationship},
    )
    session.flush()
    log.info("link %s revoked", link.id)
    notice = None
    if account.email:
        practice = session.get(Practice, practice_id)
        name = practice.name if practice is not None else "Your practice"
        phone = f" on {practice.phone}" if practice is not None and practice.phone else ""
        notice = Notice(
            account.email,
            f"A change to your {name} portal account",
            f"{name} has removed access to one of the patient records on your portal account. "
            f"If you did not expect this, please call the office{phone}.",
        )
    return link_row(link, account, patient), notice


def set_lock(
    session: Session,
    practice_id: str,
    actor: audit.Actor,
    account_id: str,
    *,
    locked: bool,
    reason: str = "",
) -> AccountState:
    """Lock (every token of the account is refused from the next call) or unlock an account."""
    account = session.get(PatientAccount, account_id)
    if account is None or not account_in_practice(session, practice_id, account_id):
        raise NotFound("No such portal account in this practice.")
    if locked and account.locked_at is None:
        account.locked_at = utcnow()
        account.locked_by_staff_id = actor.id
        account.lock_reason = reason
        account.active = False
        audit.record(session, practice_id, actor, "account.locked", "account", account.id)
    elif not locked and account.locked_at is not None:
        account.locked_at = None
        account.locked_by_staff_id = None
        account.lock_reason = ""
        account.active = True
        audit.record(session, practice_id, actor, "account.unlocked", "account", account.id)
    session.flush()
    return AccountState(
        account_id=account.id, locked=account.locked_at is not None, locked_at=account.locked_at
    )
