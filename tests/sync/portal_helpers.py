"""Helpers for tests that talk to the real portal: staff clients and a patient's "I'm Here"."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fixtures_portal import PortalPractice, http_session
from visitdesk.api.wire import PATIENT_PREFIX
from visitdesk.sync.client import PortalClient
from visitdesk.sync.credentials import MemoryTokenStore, TokenStore


def staff_client(
    practice: PortalPractice,
    role: str = "front_desk",
    *,
    token_store: TokenStore | None = None,
    base_url: str | None = None,
    sign_in: bool = True,
    timeout: tuple[float, float] = (2.0, 10.0),
) -> PortalClient:
    client = PortalClient(
        base_url or practice.base_url,
        ca_file=practice.ca_file,
        token_store=token_store if token_store is not None else MemoryTokenStore(),
        timeout=timeout,
    )
    if sign_in:
        cred = practice.staff[role]
        client.sign_in(practice.practice_code, cred.username, cred.password)
    return client


def patient_checkin(
    practice: PortalPractice,
    *,
    account: int = 0,
    patient_id: str | None = None,
    base_url: str | None = None,
) -> dict[str, Any]:
    """A patient taps "I'm Here" through the patient API; returns the CheckInOut JSON."""
    cred = practice.patients[account]
    url = (base_url or practice.base_url) + PATIENT_PREFIX
    with http_session(practice.ca_file) as http:
        resp = http.post(
            f"{url}/sessions", json={"login": cred.login, "password": cred.password}, timeout=10
        )
        resp.raise_for_status()
        token = resp.json()["access_token"]
        resp = http.post(
            f"{url}/checkins",
            json={"patient_id": patient_id or cred.patient_ids[0]},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=10,
        )
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body
