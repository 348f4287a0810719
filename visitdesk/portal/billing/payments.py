"""Card payments from the portal: the gateway interface, a test gateway, and posting a payment.

The card form belongs to the gateway: the patient's browser or app sends the card to the gateway
and gets back a token, and only the token reaches this service. Nothing here ever sees or stores a
card number; a payment keeps the gateway's reference, the brand and the last four digits.

The charge runs inside the payment's transaction, after the patient row is locked, so two taps on
"Pay" cannot both pass the balance check; with the request's Idempotency-Key the gateway is asked
to charge at most once per key as well.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.wire_billing import PaymentCreate, PaymentOut
from visitdesk.portal.billing.ledger import (
    ALLOW_PREPAYMENT,
    line_out,
    patient_balance_cents,
    setting_enabled,
)
from visitdesk.portal.persistence.clock import local_today
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Patient, Practice, new_id
from visitdesk.portal.persistence.models_billing import LedgerLine, Payment
from visitdesk.portal.web.errors import NotFound, PortalError, Unprocessable

log = logging.getLogger(__name__)


class PaymentDeclined(PortalError):
    status_code = 402


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    reference: str = ""
    brand: str = ""
    last4: str = ""
    decline_reason: str = ""


class PaymentGateway(Protocol):
    """Charges a tokenised card; implementations talk to a real processor."""

    def charge(self, token: str, amount_cents: int, idempotency_key: str) -> ChargeResult: ...


#: The test gateway's cards: token -> (brand, last four digits), or a decline reason.
TEST_CARDS: dict[str, tuple[str, str]] = {
    "tok_visa": ("Visa", "4242"),
    "tok_mastercard": ("Mastercard", "4444"),
    "tok_amex": ("American Express", "8431"),
    "tok_discover": ("Discover", "1117"),
}
TEST_DECLINES: dict[str, str] = {
    "tok_declined": "The card was declined.",
    "tok_insufficient_funds": "The card was declined for insufficient funds.",
    "tok_expired": "The card has expired.",
}


class TestGateway:
    """A deterministic gateway for the demo and the tests; no money moves."""

    __test__ = False  # not a pytest test class

    def charge(self, token: str, amount_cents: int, idempotency_key: str) -> ChargeResult:
        if token in TEST_CARDS:
            brand, last4 = TEST_CARDS[token]
            digest = hashlib.sha256(f"{idempotency_key}:{token}:{amount_cents}".encode())
            return ChargeResult(True, f"test_{digest.hexdigest()[:20]}", brand, last4)
        return ChargeResult(
            False, decline_reason=TEST_DECLINES.get(token, "The card was not recognised.")
        )


def make_payment(
    session: Session, gateway: PaymentGateway, account_id: str, body: PaymentCreate
) -> PaymentOut:
    """Charge the card and post the payment to the patient's ledger, in one transaction."""
    found = session.execute(
        select(Patient, Practice)
        .join(AccountLink, AccountLink.patient_id == Patient.id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(
            AccountLink.account_id == account_id,
            AccountLink.patient_id == body.patient_id,
            AccountLink.revoked_at.is_(None),
        )
    ).first()
    if found is None:
        raise NotFound("No such patient on this account.")
    patient, practice = found
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    balance = patient_balance_cents(session, patient.id)
    if body.amount_cents > balance and not setting_enabled(session, practice.id, ALLOW_PREPAYMENT):
        if balance <= 0:
            raise Unprocessable("There is nothing to pay: the balance is $0.00 or a credit.")
        raise Unprocessable(
            f"The amount is more than the balance of ${balance / 100:,.2f}; "
            "please pay at most the balance."
        )
    payment_id = new_id()
    result = gateway.charge(body.card_token, body.amount_cents, payment_id)
    if not result.approved:
        log.info("portal payment declined for practice %s", practice.id)
        raise PaymentDeclined(result.decline_reason or "The card was declined.")

    now = utcnow()
    # A payment lands on the account of the guarantor named on the patient's latest line.
    guarantor_id = (
        session.scalar(
            select(LedgerLine.guarantor_patient_id)
            .where(LedgerLine.patient_id == patient.id)
            .order_by(LedgerLine.posted_date.desc(), LedgerLine.updated_at.desc())
            .limit(1)
        )
        or patient.id
    )
    guarantor_mrn = (
        session.scalar(select(Patient.mrn).where(Patient.id == guarantor_id)) or patient.mrn
    )
    payment = Payment(
        id=payment_id,
        practice_id=practice.id,
        patient_id=patient.id,
        account_id=account_id,
        amount_cents=body.amount_cents,
        status="approved",
        gateway_reference=result.reference,
        card_brand=result.brand,
        card_last4=result.last4,
        created_at=now,
    )
    line = LedgerLine(
        id=new_id(),
        practice_id=practice.id,
        external_id=f"PORTAL-{payment_id}",
        patient_id=patient.id,
        guarantor_patient_id=guarantor_id,
        kind="payment",
        service_date=None,
        posted_date=local_today(practice.timezone, now),
        code="",
        description=f"Online payment \u2014 {result.brand} ending {result.last4}",
        provider="",
        amount_cents=-body.amount_cents,
        responsibility="patient",
        source="portal",
        payment_id=payment_id,
        updated_at=now,
    )
    session.add_all([payment, line])
    session.flush()
    out = PaymentOut(
        id=payment_id,
        patient_id=patient.id,
        mrn=patient.mrn,
        amount_cents=body.amount_cents,
        card_brand=result.brand,
        card_last4=result.last4,
        gateway_reference=result.reference,
        created_at=now,
        ledger_line_id=line.id,
        balance_after_cents=balance - body.amount_cents,
    )
    append_changes(
        session,
        practice.id,
        [
            NewChange.of("ledger_line", line_out(line, patient.mrn, guarantor_mrn), line.id),
            NewChange.of("payment", out, payment_id),
        ],
    )
    log.info("portal payment %s approved for practice %s", payment_id, practice.id)
    return out
