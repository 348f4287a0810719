"""Card payments through Stripe: the real library against a local stand-in of Stripe's API, and
signed webhook events (valid, wrong secret, stale) posted to the portal over TLS."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import stripe
from sqlalchemy import select

from tests.billing_api import balances, patient_http, pay
from tests.fixtures_portal import PortalFactory, PortalPractice, http_session, make_practice
from tests.portal.helpers import last_seq, staff_headers
from tests.stripe_standin import StripeStandIn, intent_event
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models_billing import Payment

SECRET_KEY = "sk_test_standin_0123456789"
WEBHOOK_SECRET = "whsec_standin_abcdef"


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    server = StripeStandIn(SECRET_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stripe_practice(
    standin: StripeStandIn, portal_factory: PortalFactory, tmp_path: Path
) -> Iterator[tuple[PortalPractice, Database]]:
    key_file = tmp_path / "stripe-secret"
    key_file.write_text(SECRET_KEY + "\n")
    hook_file = tmp_path / "stripe-webhook"
    hook_file.write_text(WEBHOOK_SECRET)
    portal = portal_factory.start(
        payment_gateway="stripe",
        stripe_secret_key_file=key_file,
        stripe_webhook_secret_file=hook_file,
        stripe_api_base=standin.url,
        stripe_publishable_key="pk_test_standin",
    )
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        yield make_practice(db, portal), db
    finally:
        db.dispose()


def post_event(
    practice: PortalPractice, payload: str, secret: str = WEBHOOK_SECRET, at: int | None = None
) -> requests.Response:
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, at)
    with http_session(practice.ca_file) as http:
        return http.post(
            f"{practice.base_url}/api/gateway/v1/stripe/events",
            data=payload.encode(),
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            timeout=10,
        )


def payment_status(db: Database, payment_id: str) -> str:
    with db.read() as session:
        return str(session.scalar(select(Payment.status).where(Payment.id == payment_id)))


def test_a_stripe_payment_posts_only_when_a_signed_event_confirms_it(
    standin: StripeStandIn, stripe_practice: tuple[PortalPractice, Database]
):
    practice, db = stripe_practice
    http = patient_http(practice)
    options = http.get(f"{practice.patient_url}/payment-options", timeout=10).json()
    assert options["online_payment_available"] is True
    assert (options["processor"], options["publishable_key"]) == ("stripe", "pk_test_standin")
    patient_id = practice.patients[0].patient_ids[0]
    before = balances(practice, http)[patient_id]["balance_cents"]
    with http_session(practice.ca_file) as staff_http:
        headers = staff_headers(staff_http, practice, "billing")
        after = last_seq(staff_http, practice, headers)

        key = str(uuid.uuid4())
        response = pay(practice, http, patient_id, 1234, token="pm_card_visa", key=key)
        assert response.status_code == 202, response.text
        pending = response.json()
        assert pending["status"] == "pending" and pending["client_secret"] is None
        form, stripe_key = standin.requests[-1]
        assert form["amount"] == "1234" and form["currency"] == "usd"
        assert form["metadata[visitdesk_payment]"] == pending["id"]
        assert stripe_key is not None and key not in stripe_key  # derived, not the patient's
        # Stripe said "succeeded", but nothing posts until its signed event says so.
        assert balances(practice, http)[patient_id]["balance_cents"] == before
        assert payment_status(db, pending["id"]) == "pending"

        event = intent_event(
            standin.intents[pending["gateway_reference"]], "payment_intent.succeeded"
        )
        assert post_event(practice, event).status_code == 200
        assert payment_status(db, pending["id"]) == "approved"
        assert balances(practice, http)[patient_id]["balance_cents"] == before - 1234
        # The same event delivered again (Stripe retries) posts nothing more.
        assert post_event(practice, event).status_code == 200
        assert balances(practice, http)[patient_id]["balance_cents"] == before - 1234

        page = staff_http.get(
            f"{practice.staff_url}/changes", params={"after": after}, headers=headers, timeout=10
        ).json()
    payments = [item for item in page["items"] if item["kind"] == "payment"]
    assert [p["id"] for p in payments] == [pending["id"]]
    assert (payments[0]["data"]["card_brand"], payments[0]["data"]["card_last4"]) == (
        "Visa",
        "4242",
    )


def test_events_not_signed_with_our_secret_or_stale_are_refused(
    standin: StripeStandIn, stripe_practice: tuple[PortalPractice, Database]
):
    practice, db = stripe_practice
    http = patient_http(practice)
    patient_id = practice.patients[0].patient_ids[0]
    response = pay(practice, http, patient_id, 500, token="pm_card_visa")
    assert response.status_code == 202, response.text
    pending = response.json()
    event = intent_event(standin.intents[pending["gateway_reference"]], "payment_intent.succeeded")

    wrong = post_event(practice, event, secret="whsec_someone_else")
    assert wrong.status_code == 400 and "signature" in wrong.json()["detail"]
    stale = post_event(practice, event, at=int(time.time()) - 3600)  # a captured event replayed
    assert stale.status_code == 400
    future = post_event(practice, event, at=int(time.time()) + 3600)
    assert future.status_code == 400
    with http_session(practice.ca_file) as anyone:
        unsigned = anyone.post(
            f"{practice.base_url}/api/gateway/v1/stripe/events", data=event, timeout=10
        )
    assert unsigned.status_code == 400
    assert payment_status(db, pending["id"]) == "pending"

    assert post_event(practice, event).status_code == 200
    assert payment_status(db, pending["id"]) == "approved"


def test_declines_failures_and_bank_checks(
    standin: StripeStandIn, stripe_practice: tuple[PortalPractice, Database]
):
    practice, db = stripe_practice
    http = patient_http(practice)
    patient_id = practice.patients[0].patient_ids[0]
    before = balances(practice, http)[patient_id]["balance_cents"]

    declined = pay(practice, http, patient_id, 700, token="pm_card_chargeDeclined")
    assert declined.status_code == 402 and "declined" in declined.json()["detail"]

    three_ds = pay(practice, http, patient_id, 800, token="pm_card_threeDSecure2Required")
    assert three_ds.status_code == 202
    assert three_ds.json()["client_secret"].startswith(three_ds.json()["gateway_reference"])
    # A pending payment already counts against what may be paid.
    too_much = pay(practice, http, patient_id, before - 799, token="pm_card_visa")
    assert too_much.status_code == 422

    reference = three_ds.json()["gateway_reference"]
    failed = intent_event(standin.intents[reference], "payment_intent.payment_failed")
    assert post_event(practice, failed).status_code == 200
    assert payment_status(db, three_ds.json()["id"]) == "failed"
    assert balances(practice, http)[patient_id]["balance_cents"] == before
    # A late "succeeded" for a failed payment changes nothing.
    late = intent_event(standin.intents[reference], "payment_intent.succeeded")
    assert post_event(practice, late).status_code == 200
    assert balances(practice, http)[patient_id]["balance_cents"] == before

    unknown = dict(standin.intents[reference], id="pi_not_ours")
    assert (
        post_event(practice, intent_event(unknown, "payment_intent.succeeded")).status_code == 409
    )


def test_a_portal_without_a_processor_records_no_card_payment(portal_factory: PortalFactory):
    portal = portal_factory.start(payment_gateway="none")
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal)
        http = patient_http(practice)
        options = http.get(f"{practice.patient_url}/payment-options", timeout=10).json()
        assert options["online_payment_available"] is False
        patient_id = practice.patients[0].patient_ids[0]
        balance = balances(practice, http)[patient_id]
        assert balance["online_payment_available"] is False
        assert (
            "not available" in balance["how_to_pay"] and "(413) 555-0100" in balance["how_to_pay"]
        )
        refused = pay(practice, http, patient_id, 100, token="tok_visa")
        assert refused.status_code == 409
        assert refused.json()["detail"] == balance["how_to_pay"]
        with db.read() as session:
            assert session.scalar(select(Payment.id)) is None
        with http_session(practice.ca_file) as anyone:
            hook = anyone.post(f"{practice.base_url}/api/gateway/v1/stripe/events", data="{}")
        assert hook.status_code == 404
    finally:
        db.dispose()
