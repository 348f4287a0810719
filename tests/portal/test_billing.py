"""Ledgers, balances and card payments on the portal, over TLS."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
import requests
from sqlalchemy import insert

from tests.billing_api import balances, patient_http, pay
from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem, last_seq, staff_headers
from tests.sync.batches import columns_data
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.idempotency import REPLAYED_HEADER
from visitdesk.portal.persistence.models import PracticeSetting


def test_patients_see_the_balance_and_aging_of_each_linked_patient(practice: PortalPractice):
    http = patient_http(practice, 1)  # the second account links a parent and a child
    found = balances(practice, http)
    assert set(found) == set(practice.patients[1].patient_ids)
    holder = found[practice.patients[1].patient_ids[0]]
    assert holder["balance_cents"] > 0  # the seed makes every account holder owe something
    aging = holder["aging"]
    assert sum(aging.values()) == holder["balance_cents"]


def test_a_payment_posts_to_the_ledger_and_the_feed(
    practice: PortalPractice, portal_http: requests.Session
):
    headers = staff_headers(portal_http, practice, "billing")
    after = last_seq(portal_http, practice, headers)
    http = patient_http(practice)
    patient_id = practice.patients[0].patient_ids[0]
    before = balances(practice, http)[patient_id]["balance_cents"]
    key = str(uuid.uuid4())
    response = pay(practice, http, patient_id, 1234, key=key)
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["balance_after_cents"] == before - 1234
    assert (payment["card_brand"], payment["card_last4"]) == ("Visa", "4242")
    assert balances(practice, http)[patient_id]["balance_cents"] == before - 1234
    replay = pay(practice, http, patient_id, 1234, key=key)
    assert replay.json() == payment and replay.headers["Idempotency-Replayed"] == "true"
    assert balances(practice, http)[patient_id]["balance_cents"] == before - 1234

    page = portal_http.get(
        f"{practice.staff_url}/changes", params={"after": after}, headers=headers, timeout=10
    ).json()
    kinds = [(item["kind"], item["id"]) for item in page["items"]]
    assert ("payment", payment["id"]) in kinds
    line = next(i for i in page["items"] if i["kind"] == "ledger_line")
    assert line["data"]["amount_cents"] == -1234 and line["data"]["source"] == "portal"


def test_overpayment_is_refused_unless_the_practice_allows_prepayment(
    practice: PortalPractice, portal_database: Database
):
    http = patient_http(practice)
    patient_id = practice.patients[0].patient_ids[0]
    balance = balances(practice, http)[patient_id]["balance_cents"]
    refused = pay(practice, http, patient_id, balance + 1)
    assert refused.status_code == 422 and "more than the balance" in refused.json()["detail"]
    with portal_database.write() as session:
        session.execute(
            insert(PracticeSetting).values(
                practice_id=practice.practice_id, key="allow_prepayment", value="true"
            )
        )
    assert balances(practice, http)[patient_id]["allow_prepayment"] is True
    accepted = pay(practice, http, patient_id, balance + 500)
    assert accepted.status_code == 201
    assert balances(practice, http)[patient_id]["balance_cents"] == -500


def test_bad_payments_are_refused(practice: PortalPractice):
    http = patient_http(practice)
    patient_id = practice.patients[0].patient_ids[0]
    other = next(p for p in practice.patient_ids if p not in practice.patients[0].patient_ids)
    assert pay(practice, http, other, 100).status_code == 404  # not linked to this account
    assert pay(practice, http, str(uuid.uuid4()), 100).status_code == 404
    assert pay(practice, http, patient_id, 0).status_code == 422
    assert pay(practice, http, patient_id, -5).status_code == 422
    assert pay(practice, http, patient_id, 100, token="4242424242424242").status_code == 422
    declined = pay(practice, http, patient_id, 100, token="tok_declined")
    assert declined.status_code == 402 and "declined" in declined.json()["detail"]


def _upload(route: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of an upload of `lines` to `route`: one object per line, or in columns."""
    return {"lines": lines} if route == "/ledger" else columns_data(lines)


@pytest.mark.parametrize("route", ["/ledger", "/ledger/columns"])
def test_staff_ledger_upload_needs_billing_role_and_known_mrns(
    practice: PortalPractice, portal_http: requests.Session, route: str
):
    line = {
        "external_id": f"T-1{route}",
        "mrn": "1000001",
        "guarantor_mrn": "1000001",
        "kind": "charge",
        "posted_date": date.today().isoformat(),
        "description": "Office visit",
        "amount_cents": 18500,
        "responsibility": "patient",
    }
    url = f"{practice.staff_url}{route}"
    desk = staff_headers(portal_http, practice, "front_desk")
    assert (
        portal_http.put(
            url, json=_upload(route, [line]), headers={**desk, **idem()}, timeout=10
        ).status_code
        == 403
    )
    billing = staff_headers(portal_http, practice, "billing")
    key = idem()
    first = portal_http.put(
        url, json=_upload(route, [line]), headers={**billing, **key}, timeout=10
    )
    assert first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    # A retry with the same key is answered as the first time, and writes nothing again.
    retry = portal_http.put(
        url, json=_upload(route, [line]), headers={**billing, **key}, timeout=10
    )
    assert (retry.json(), retry.headers.get(REPLAYED_HEADER)) == (first.json(), "true")
    again = portal_http.put(
        url, json=_upload(route, [line]), headers={**billing, **idem()}, timeout=10
    )
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 1}
    unknown = portal_http.put(
        url,
        json=_upload(route, [{**line, "external_id": "T-2", "mrn": "NOPE"}]),
        headers={**billing, **idem()},
        timeout=10,
    )
    assert unknown.status_code == 422 and "NOPE" in unknown.json()["detail"]
