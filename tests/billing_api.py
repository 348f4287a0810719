"""Acting as a patient paying a bill in tests: the real patient API of the portal, over TLS."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.fixtures_portal import PortalPractice, http_session


def patient_http(practice: PortalPractice, account: int = 0) -> requests.Session:
    credential = practice.patients[account]
    http = http_session(practice.ca_file)
    signed_in = http.post(
        f"{practice.patient_url}/sessions",
        json={"login": credential.login, "password": credential.password},
        timeout=10,
    )
    signed_in.raise_for_status()
    http.headers["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
    return http


def balances(practice: PortalPractice, http: requests.Session) -> dict[str, dict[str, Any]]:
    response = http.get(f"{practice.patient_url}/balance", timeout=10)
    response.raise_for_status()
    return {item["patient_id"]: item for item in response.json()}


def pay(
    practice: PortalPractice,
    http: requests.Session,
    patient_id: str,
    cents: int,
    token: str = "tok_visa",
    key: str | None = None,
) -> requests.Response:
    return http.post(
        f"{practice.patient_url}/payments",
        json={"patient_id": patient_id, "amount_cents": cents, "card_token": token},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
        timeout=10,
    )
