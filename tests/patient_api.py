"""Acting as a patient in tests: the real patient API of the portal, over TLS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fixtures_portal import PortalPractice, http_session
from visitdesk.portal.demo.seed import DEMO_TIMEZONE
from visitdesk.portal.persistence.clock import zone


def patient_check_in(
    practice: PortalPractice, account: int = 0, patient_id: str | None = None
) -> dict[str, Any]:
    """Sign in as one of the practice's patient accounts and tap I'm Here.

    Ties the check-in to the patient's appointment today when there is one.
    """
    credential = practice.patients[account]
    http = http_session(practice.ca_file)
    signed_in = http.post(
        f"{practice.patient_url}/sessions",
        json={"login": credential.login, "password": credential.password},
        timeout=10,
    )
    signed_in.raise_for_status()
    http.headers["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
    patient = patient_id or credential.patient_ids[0]
    appointments = http.get(f"{practice.patient_url}/appointments", timeout=10)
    appointments.raise_for_status()
    # "Today" is the practice's day (the seeded practices keep the demo's timezone), not UTC's:
    # in the evening there the UTC date is already tomorrow.
    local = zone(DEMO_TIMEZONE)
    today = datetime.now(local).date()
    todays = [
        a
        for a in appointments.json()
        if a["patient_id"] == patient
        and datetime.fromisoformat(a["starts_at"]).astimezone(local).date() >= today
    ]
    body: dict[str, Any] = {"patient_id": patient}
    if todays:
        body["appointment_id"] = todays[0]["id"]
    response = http.post(f"{practice.patient_url}/checkins", json=body, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def _signed_in(practice: PortalPractice, account: int) -> Any:
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


def submit_myinfo(
    practice: PortalPractice, account: int = 0, *, card: bytes | None = None, **fields: str
) -> dict[str, Any]:
    """Send a myInfo change for the account's first patient (with `card` as the front of the
    insurance card when given) over the real patient API."""
    http = _signed_in(practice, account)
    try:
        body: dict[str, Any] = {"patient_id": practice.patients[account].patient_ids[0], **fields}
        if card is not None:
            uploaded = http.post(
                f"{practice.patient_url}/insurance-cards",
                data=card,
                headers={"Content-Type": "image/png"},
                timeout=10,
            )
            uploaded.raise_for_status()
            body["insurance_card_front"] = uploaded.json()["id"]
        response = http.post(f"{practice.patient_url}/demographic-changes", json=body, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result
    finally:
        http.close()


def own_myinfo_changes(practice: PortalPractice, account: int = 0) -> list[dict[str, Any]]:
    """The account's myInfo changes as the patient sees them (each field's outcome)."""
    http = _signed_in(practice, account)
    try:
        response = http.get(f"{practice.patient_url}/demographic-changes", timeout=10)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result
    finally:
        http.close()
