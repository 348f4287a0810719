"""Telling a patient that a reply is waiting, by email or text, without any PHI.

The notice names no patient, practice, topic or text: a shared inbox or a phone's lock screen must
not reveal that someone is a patient somewhere, let alone why.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models import Patient, PatientAccount
from visitdesk.portal.web.notify import DeliveryFailed, Email, Messenger, TextMessage

log = logging.getLogger(__name__)

SUBJECT = "You have a new secure message"
BODY = (
    "A new secure message is waiting for you in your patient portal.\n"
    "Sign in to the portal or the app to read it.\n\n"
    "This notice does not contain the message, for your privacy."
)
TEXT = "A new secure message is waiting in your patient portal. Sign in to read it."


def announce_reply(
    db: Database, messenger: Messenger, account_id: str | None, patient_id: str
) -> str | None:
    """Send the notice to the account's email, else the patient's phone on file; the channel used
    (``"email"``, ``"text"``) or None when there is no way to reach them."""
    with db.read() as session:
        email = (
            session.scalar(select(PatientAccount.email).where(PatientAccount.id == account_id))
            if account_id
            else None
        )
        phone = session.scalar(select(Patient.phone).where(Patient.id == patient_id))
    try:
        if email:
            messenger.mail.send(Email(to=email, subject=SUBJECT, body=BODY))
            return "email"
        if phone:
            messenger.text.send(TextMessage(to=phone, body=TEXT))
            return "text"
    except DeliveryFailed as exc:
        # The reply is stored and shows in the app; a lost notice is logged, not an error.
        log.warning("reply notice not delivered: %s", exc)
        return None
    return None
