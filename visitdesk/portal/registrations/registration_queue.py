"""Staff decisions on the registration queue: match a registration to a record, or reject it.

Both run inside the staff call's transaction (see ``routes/staff_registrations.py``): the
registration changes state, a "registration" feed item takes it off every workstation's queue and
an audit event records who decided what, on which record, with which score. The patient is told
afterwards, by email when the account has an address; the portal's registrations list shows the
outcome (and a rejection's reason) either way.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.wire_registration import (
    RegistrationMatch,
    RegistrationOut,
    RegistrationReject,
    rejection_text,
)
from visitdesk.portal.accounts.patient_side import registration_out
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount, Practice
from visitdesk.portal.persistence.models_registration import Registration
from visitdesk.portal.web.errors import Conflict, NotFound
from visitdesk.portal.web.notify import Notice

log = logging.getLogger(__name__)

DECIDED = {
    "matched": "This registration was already matched to a patient record.",
    "rejected": "This registration was already rejected.",
    "cancelled": "The patient cancelled this registration.",
}


def _pending(session: Session, practice_id: str, registration_id: str) -> Registration:
    row = session.scalar(
        select(Registration)
        .where(Registration.id == registration_id, Registration.practice_id == practice_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("No such registration in this practice.")
    if row.status != "pending":
        raise Conflict(DECIDED.get(row.status, "This registration is no longer pending."))
    return row


def _decided(
    session: Session, row: Registration, practice_id: str, status: str, actor: audit.Actor
) -> RegistrationOut:
    row.status = status
    row.decided_at = utcnow()
    row.decided_by = actor.name
    row.decided_by_staff_id = actor.id
    session.flush()
    out = registration_out(row)
    append_changes(session, practice_id, [NewChange.of("registration", out, row.id)])
    return out


def _notice(session: Session, row: Registration, subject: str, text: str) -> Notice | None:
    account = session.get(PatientAccount, row.account_id)
    if account is None or not account.email:
        return None
    return Notice(
        to=account.email,
        subject=subject,
        body=f"Hello {row.first_name},\n\n{text}\n",
    )


def match(
    session: Session,
    practice_id: str,
    actor: audit.Actor,
    registration_id: str,
    body: RegistrationMatch,
) -> tuple[RegistrationOut, Notice | None]:
    """Connect the registration's account to ``body.patient_id`` (as "self")."""
    row = _pending(session, practice_id, registration_id)
    patient = session.get(Patient, body.patient_id)
    if patient is None or patient.practice_id != practice_id:
        raise NotFound("No such patient in this practice.")
    link = session.scalar(
        select(AccountLink).where(
            AccountLink.account_id == row.account_id, AccountLink.patient_id == patient.id
        )
    )
    if link is not None and link.revoked_at is not None:
        raise Conflict(
            "The office removed this patient from this portal account earlier; it cannot be "
            "connected again from the queue."
        )
    if link is None:
        session.add(
            AccountLink(
                account_id=row.account_id,
                patient_id=patient.id,
                practice_id=practice_id,
                relationship="self",
                method="staff_match",
                made_by_staff_id=actor.id,
                made_by=actor.name,
            )
        )
    row.patient_id = patient.id
    out = _decided(session, row, practice_id, "matched", actor)
    details: dict[str, object] = {"score": round(body.score, 2), "account_id": row.account_id}
    if body.note:
        details["note"] = body.note
    audit.record(
        session,
        practice_id,
        actor,
        "registration.matched",
        "registration",
        row.id,
        patient_id=patient.id,
        details=details,
    )
    practice = session.get(Practice, practice_id)
    name = practice.name if practice is not None else "the practice"
    notice = _notice(
        session,
        row,
        f"Your account is now connected to {name}",
        f"{name} has connected your patient portal account to your patient record. Sign in to "
        "see your balance, appointments and messages.",
    )
    log.info("registration %s matched", row.id)
    return out, notice


def reject(
    session: Session,
    practice_id: str,
    actor: audit.Actor,
    registration_id: str,
    body: RegistrationReject,
) -> tuple[RegistrationOut, Notice | None]:
    """Turn the registration down with a reason the patient can read."""
    row = _pending(session, practice_id, registration_id)
    row.reason = rejection_text(body.reason_code, body.text)
    out = _decided(session, row, practice_id, "rejected", actor)
    audit.record(
        session,
        practice_id,
        actor,
        "registration.rejected",
        "registration",
        row.id,
        details={"reason_code": body.reason_code, "account_id": row.account_id},
    )
    practice = session.get(Practice, practice_id)
    name = practice.name if practice is not None else "the practice"
    notice = _notice(
        session,
        row,
        f"About your request to connect to {name}",
        f"{name} could not connect your patient portal account to a patient record.\n\n"
        f"{row.reason}",
    )
    log.info("registration %s rejected", row.id)
    return out, notice
