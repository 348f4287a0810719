"""Stripe as the portal's card processor: PaymentIntents out, signed events in.

A payment is a PaymentIntent created and confirmed in one call with the PaymentMethod (or card
token) from Stripe's card form, in integer cents, with Stripe's idempotency key so a retried
request never charges twice. Whatever Stripe answers at once, the payment is recorded as pending:
it reaches the ledger only when Stripe's webhook event, signed with the endpoint's secret and
recent, says the PaymentIntent succeeded (or failed). Anyone can post to the webhook URL; only the
signature makes an event believable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from visitdesk.api.wire_billing import CardProcessor
from visitdesk.portal.billing.payments import ChargeRequest, ChargeResult, Settlement
from visitdesk.portal.web.bodies import strict_json
from visitdesk.portal.web.errors import Unavailable

log = logging.getLogger(__name__)

#: Oldest (and furthest in the future) a signed event may be, in seconds: a captured event
#: replayed later is refused.
EVENT_TOLERANCE_SECONDS = 300

_BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
}
_SETTLING_EVENTS = {
    "payment_intent.succeeded": "approved",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "failed",
}


class BadSignature(Exception):
    """The event is not signed with our webhook secret, or is too old to believe."""


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    webhook_secret: str
    publishable_key: str | None = None
    currency: str = "usd"
    #: Stripe's API address; a test points it at a local stand-in of the API.
    api_base: str | None = None


def _card_of(intent: Mapping[str, Any]) -> tuple[str, str]:
    method = intent.get("payment_method")
    card = method.get("card") if isinstance(method, Mapping) else None
    if not isinstance(card, Mapping):
        return "", ""
    brand = str(card.get("brand") or "")
    return _BRANDS.get(brand, brand.title()), str(card.get("last4") or "")[-4:]


class StripeGateway:
    """Charges cards with Stripe PaymentIntents through Stripe's official library."""

    processor: CardProcessor = "stripe"

    def __init__(self, settings: StripeSettings) -> None:
        self._settings = settings
        self.publishable_key = settings.publishable_key
        bases: dict[str, str] = {}
        if settings.api_base:
            bases["api"] = settings.api_base
        self._client = stripe.StripeClient(
            settings.secret_key,
            base_addresses=bases,  # type: ignore[arg-type]
            max_network_retries=2,
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": request.amount_cents,
            "currency": self._settings.currency,
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": {"visitdesk_payment": request.payment_id},
            "expand": ["payment_method"],
        }
        if request.token.startswith("pm_"):
            params["payment_method"] = request.token
        else:
            params["payment_method_data"] = {"type": "card", "card": {"token": request.token}}
        try:
            intent = self._client.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            return ChargeResult(
                "declined", decline_reason=exc.user_message or "The card was declined."
            )
        except stripe.StripeError as exc:
            # Never the message: it may quote the request. Nothing is recorded; a retry with the
            # same Idempotency-Key reaches the same PaymentIntent.
            log.warning("Stripe call failed: %s", type(exc).__name__)
            raise Unavailable(
                "The card processor could not be reached; no payment was recorded. "
                "Please try again in a few minutes."
            ) from exc
        data: Mapping[str, Any] = intent.to_dict()
        status = str(data.get("status", ""))
        brand, last4 = _card_of(data)
        if status in {"requires_payment_method", "canceled"}:
            error = data.get("last_payment_error") or {}
            reason = error.get("message") if isinstance(error, Mapping) else None
            return ChargeResult("declined", decline_reason=str(reason or "The card was declined."))
        return ChargeResult(
            "pending",
            reference=str(data["id"]),
            brand=brand,
            last4=last4,
            client_secret=str(data.get("client_secret")) if status == "requires_action" else None,
        )

    def verify_event(self, payload: bytes, signature: str | None) -> Settlement | None:
        """The settlement a signed, recent Stripe event carries; None for other events.

        Raises :class:`BadSignature` for anything not signed with our secret, or signed too long
        ago (a replay).
        """
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._settings.webhook_secret, EVENT_TOLERANCE_SECONDS
            )
            timestamp = stripe.WebhookSignature._get_timestamp_and_signatures(
                signature or "", "v1"
            )[0]
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
            raise BadSignature from exc
        if timestamp > time.time() + EVENT_TOLERANCE_SECONDS:
            raise BadSignature
        try:
            event = strict_json(payload)
            outcome = _SETTLING_EVENTS.get(str(event.get("type", "")))
            intent = (event.get("data") or {}).get("object") or {}
            if outcome is None or intent.get("object") != "payment_intent":
                return None
            amount = int(intent.get("amount") or 0)
        except (ValueError, TypeError, AttributeError):
            log.error("a signed Stripe event had an unexpected shape; ignored")
            return None
        if str(intent.get("currency", "")).lower() != self._settings.currency:
            log.error("Stripe event in an unexpected currency ignored")
            return None
        brand, last4 = _card_of(intent)
        return Settlement(
            reference=str(intent.get("id", "")),
            outcome=outcome,  # type: ignore[arg-type]
            amount_cents=amount,
            brand=brand,
            last4=last4,
        )
