"""Card payments from the portal: the gateway interface, the demo's test gateway, and posting.

The card form belongs to the processor: the patient's browser or app sends the card to it and gets
back a token (or a Stripe PaymentMethod id), and only that reaches this service. Nothing here ever
sees or stores a card number; a payment keeps the processor's reference, the brand and the last
four digits.

A payment reaches the ledger only when its processor says it was taken: at once for the demo's test
gateway, and for Stripe only when Stripe's signed event confirms it (see
:mod:`visitdesk.portal.billing.stripe_gateway`). A portal with no processor configured records no card
payment at all and tells the patient how to pay instead.

The charge runs inside the payment's transaction, after the patient row is locked, so two taps on
"Pay" cannot both pass the balance check; the processor gets an idempotency key derived from the
request's Idempotency-Key, so a retry after a lost answer charges at most once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from visitdesk.api.wire_billing import (
    CardProcessor,
    PaymentCreate,
    PaymentOptions,
    PaymentOut,
    PaymentPending,
)
from visitdesk.portal.billing.ledger import (
    ALLOW_PREPAYMENT,
    NO_ONLINE_PAYMENT,
    how_to_pay,
    line_out,
    patient_balance_cents,
    setting_enabled,
)
from visitdesk.portal.persistence.clock import local_today
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Patient, Practice, new_id
from visitdesk.portal.persistence.models_billing import LedgerLine, Payment
from visitdesk.portal.web.errors import Conflict, NotFound, PortalError, Unprocessable

log = logging.getLogger(__name__)


class PaymentDeclined(PortalError):
    status_code = 402


@dataclass(frozen=True)
class ChargeResult:
    """What the processor said about a charge.

    ``approved``: taken, post it now; ``pending``: taken or awaiting the patient's bank, it posts
    when the processor's signed event confirms it; ``declined``: nothing was taken.
    """

    outcome: Literal["approved", "pending", "declined"]
    reference: str = ""
    brand: str = ""
    last4: str = ""
    decline_reason: str = ""
    client_secret: str | None = None


@dataclass(frozen=True)
class ChargeRequest:
    token: str
    amount_cents: int
    idempotency_key: str
    payment_id: str
    practice_id: str


class PaymentGateway(Protocol):
    """Charges a tokenised card through a processor."""

    processor: CardProcessor
    publishable_key: str | None

    def charge(self, request: ChargeRequest) -> ChargeResult: ...


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
    """A deterministic gateway for the demo and the tests; no money moves.

    ``serve`` accepts it only on a loopback address (the demo); a deployment uses Stripe.
    """

    __test__ = False  # not a pytest test class
    processor: CardProcessor = "test"
    publishable_key: str | None = None

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if request.token in TEST_CARDS:
            brand, last4 = TEST_CARDS[request.token]
            digest = hashlib.sha256(
                f"{request.idempotency_key}:{request.token}:{request.amount_cents}".encode()
            )
            return ChargeResult("approved", f"test_{digest.hexdigest()[:20]}", brand, last4)
        return ChargeResult(
            "declined",
            decline_reason=TEST_DECLINES.get(request.token, "The card was not recognised."),
        )


def payment_options(gateway: PaymentGateway | None) -> PaymentOptions:
    if gateway is None:
        return PaymentOptions(
            online_payment_available=False,
            message=f"{NO_ONLINE_PAYMENT} Your balance shows how to pay each practice instead.",
        )
    return PaymentOptions(
        online_payment_available=True,
        processor=gateway.processor,
        publishable_key=gateway.publishable_key,
        message="Pay by card with the secure card form.",
    )


def processor_key(scope: str, request_key: str | None, payment_id: str) -> str:
    """The processor's idempotency key: the same for every retry of one patient request."""
    if request_key is None:
        return f"visitdesk-{payment_id}"
    digest = hashlib.sha256(f"{scope}\x00{request_key}".encode()).hexdigest()
    return f"visitdesk-{digest[:48]}"


def _pending_cents(session: Session, patient_id: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.patient_id == patient_id, Payment.status == "pending"
        )
    )
    return int(total or 0)


def make_payment(
    session: Session,
    gateway: PaymentGateway | None,
    account_id: str,
    body: PaymentCreate,
    *,
    scope: str = "",
    request_key: str | None = None,
) -> PaymentOut | PaymentPending:
    """Charge the card; post an approved payment to the ledger, record a pending one."""
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
    if gateway is None:
        raise Conflict(how_to_pay(practice))
    session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    # Payments the processor has not confirmed yet already count against what is owed.
    balance = patient_balance_cents(session, patient.id) - _pending_cents(session, patient.id)
    if body.amount_cents > balance and not setting_enabled(session, practice.id, ALLOW_PREPAYMENT):
        if balance <= 0:
            raise Unprocessable("There is nothing to pay: the balance is $0.00 or a credit.")
        raise Unprocessable(
            f"The amount is more than the balance of ${balance / 100:,.2f}; "
            "please pay at most the balance."
        )
    payment_id = new_id()
    result = gateway.charge(
        ChargeRequest(
            token=body.card_token,
            amount_cents=body.amount_cents,
            idempotency_key=processor_key(scope, request_key, payment_id),
            payment_id=payment_id,
            practice_id=practice.id,
        )
    )
    if result.outcome == "declined":
        log.info("portal payment declined for practice %s", practice.id)
        raise PaymentDeclined(result.decline_reason or "The card was declined.")
    existing = session.scalar(select(Payment).where(Payment.gateway_reference == result.reference))
    if existing is not None:
        # The processor recognised its idempotency key: this charge is already recorded.
        raise Conflict("This payment was already received.")
    payment = Payment(
        id=payment_id,
        practice_id=practice.id,
        patient_id=patient.id,
        account_id=account_id,
        amount_cents=body.amount_cents,
        status="pending",
        gateway_reference=result.reference,
        card_brand=result.brand,
        card_last4=result.last4,
        created_at=utcnow(),
    )
    session.add(payment)
    session.flush()
    if result.outcome == "pending":
        log.info("portal payment %s pending for practice %s", payment_id, practice.id)
        return PaymentPending(
            id=payment_id,
            patient_id=patient.id,
            amount_cents=body.amount_cents,
            gateway_reference=result.reference,
            client_secret=result.client_secret,
            message="The payment is being confirmed by the card processor; it shows on the "
            "balance once confirmed.",
        )
    return post_payment(session, payment, patient, practice)


def post_payment(
    session: Session, payment: Payment, patient: Patient, practice: Practice
) -> PaymentOut:
    """Approve a payment: its ledger line, and both onto the practice's change feed."""
    now = utcnow()
    payment.status = "approved"
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
    card = f"{payment.card_brand} ending {payment.card_last4}" if payment.card_last4 else "card"
    line = LedgerLine(
        id=new_id(),
        practice_id=practice.id,
        external_id=f"PORTAL-{payment.id}",
        patient_id=patient.id,
        guarantor_patient_id=guarantor_id,
        kind="payment",
        service_date=None,
        posted_date=local_today(practice.timezone, now),
        code="",
        description=f"Online payment \u2014 {card}",
        provider="",
        amount_cents=-payment.amount_cents,
        responsibility="patient",
        source="portal",
        payment_id=payment.id,
        updated_at=now,
    )
    session.add(line)
    session.flush()
    out = PaymentOut(
        id=payment.id,
        patient_id=patient.id,
        mrn=patient.mrn,
        amount_cents=payment.amount_cents,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        gateway_reference=payment.gateway_reference,
        created_at=payment.created_at,
        ledger_line_id=line.id,
        balance_after_cents=patient_balance_cents(session, patient.id),
    )
    append_changes(
        session,
        practice.id,
        [
            NewChange.of("ledger_line", line_out(line, patient.mrn, guarantor_mrn), line.id),
            NewChange.of("payment", out, payment.id),
        ],
    )
    log.info("portal payment %s approved for practice %s", payment.id, practice.id)
    return out


@dataclass(frozen=True)
class Settlement:
    """The processor's confirmed word on one charge."""

    reference: str
    outcome: Literal["approved", "failed"]
    amount_cents: int
    brand: str = ""
    last4: str = ""


def settle(session: Session, settlement: Settlement) -> bool:
    """Apply a confirmed outcome to its pending payment; False if no payment has the reference.

    Settling twice (a redelivered event) changes nothing: only a pending payment moves.
    """
    payment = session.scalar(
        select(Payment).where(Payment.gateway_reference == settlement.reference).with_for_update()
    )
    if payment is None:
        return False
    if payment.status != "pending":
        return True
    if settlement.outcome == "failed":
        payment.status = "failed"
        log.info("portal payment %s failed at the processor", payment.id)
        return True
    if settlement.amount_cents != payment.amount_cents:
        # Never post an amount other than the one the patient agreed to; staff must look.
        log.error("portal payment %s confirmed with a different amount", payment.id)
        payment.status = "failed"
        return True
    payment.card_brand = settlement.brand or payment.card_brand
    payment.card_last4 = settlement.last4 or payment.card_last4
    patient = session.get_one(Patient, payment.patient_id)
    practice = session.get_one(Practice, payment.practice_id)
    post_payment(session, payment, patient, practice)
    return True
