"""The desk's decisions on the registration queue: match and reject, through the staff API."""

from __future__ import annotations

import json
from typing import Any

import requests
from sqlalchemy import select

from tests.fixtures_portal import make_practice
from tests.patient_flows import Flows, body_of
from tests.portal.helpers import idem
from visitdesk.api.wire_registration import REJECT_REASONS, RegistrationOut
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.models_registration import AuditEvent, Registration


def _queued(flows: Flows, first: str = "Nadia", last: str = "Nomatch") -> tuple[str, str, dict]:
    """An email account whose connect went to the queue: (registration id, email, headers)."""
    address, headers = flows.email_account(first, last)
    started = flows.connect(headers, first, last, "2001-01-01", phone="413 555 0000")
    assert started.json()["outcome"] == "queued", started.text
    return started.json()["registration_id"], address, headers


def _decide(
    flows: Flows,
    registration_id: str,
    action: str,
    body: dict[str, Any],
    role: str = "front_desk",
    key: dict[str, str] | None = None,
) -> requests.Response:
    return flows.http.post(
        f"{flows.practice.staff_url}/registrations/{registration_id}/{action}",
        json=body,
        headers={**flows.staff(role), **(key or idem())},
        timeout=10,
    )


def _audit(flows: Flows, action: str) -> list[AuditEvent]:
    with flows.db.read() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.practice_id == flows.practice.practice_id,
                    AuditEvent.action == action,
                )
            )
        )


def test_match_connects_the_account_and_tells_the_patient(flows: Flows) -> None:
    patient_id = flows.add_patient("Nadine", "Nomatch-Smith", "2001-01-01")
    registration_id, address, headers = _queued(flows)
    assert flows.get("/patients", headers).json() == []

    key = idem()
    matched = _decide(
        flows, registration_id, "match", {"patient_id": patient_id, "score": 31.5}, key=key
    )
    assert matched.status_code == 200, matched.text
    out = RegistrationOut.model_validate(matched.json())
    assert (out.status, out.patient_id) == ("matched", patient_id)
    assert out.decided_by == flows.practice.staff["front_desk"].name

    # The account now sees the patient, and its balance.
    [linked] = flows.get("/patients", headers).json()
    assert (linked["patient_id"], linked["relationship"]) == (patient_id, "self")
    balances = flows.get("/balance", headers)
    assert balances.status_code == 200
    assert [b["patient_id"] for b in balances.json()] == [patient_id]
    [mine] = flows.get("/registrations", headers).json()
    assert mine["status"] == "matched"

    _confirmation, mail = flows.mailbox.wait_for(address, 2)
    assert "now connected" in mail["Subject"] and "connected your patient portal" in body_of(mail)

    # The decision leaves every workstation's queue through the feed.
    items = flows.feed("registration")
    assert RegistrationOut.model_validate(items[-1]["data"]).status == "matched"

    [event] = _audit(flows, "registration.matched")
    assert (event.subject_id, event.patient_id, event.actor_kind) == (
        registration_id,
        patient_id,
        "staff",
    )
    assert json.loads(event.details)["score"] == 31.5
    assert event.actor_name == flows.practice.staff["front_desk"].name

    # Same key: the same answer, no second email; a new key: 409, it is no longer pending.
    replay = _decide(
        flows, registration_id, "match", {"patient_id": patient_id, "score": 31.5}, key=key
    )
    assert replay.status_code == 200 and replay.json() == matched.json()
    again = _decide(flows, registration_id, "match", {"patient_id": patient_id, "score": 31.5})
    assert again.status_code == 409
    assert len(_audit(flows, "registration.matched")) == 1
    with flows.db.read() as session:
        assert audit.verify(session, flows.practice.practice_id).ok


def test_reject_tells_the_patient_why(flows: Flows) -> None:
    registration_id, address, headers = _queued(flows, "Rita", "Rejected")
    rejected = _decide(
        flows,
        registration_id,
        "reject",
        {"reason_code": "no_record", "text": "Our number is 413-555-0100."},
        role="manager",
    )
    assert rejected.status_code == 200, rejected.text
    reason = REJECT_REASONS["no_record"] + " Our number is 413-555-0100."
    assert rejected.json()["status"] == "rejected" and rejected.json()["reason"] == reason

    [mine] = flows.get("/registrations", headers).json()
    assert (mine["status"], mine["reason"]) == ("rejected", reason)
    assert flows.get("/patients", headers).json() == []
    _confirmation, mail = flows.mailbox.wait_for(address, 2)
    assert reason in " ".join(body_of(mail).split())

    [event] = _audit(flows, "registration.rejected")
    assert event.subject_id == registration_id
    assert json.loads(event.details)["reason_code"] == "no_record"

    # Once decided, neither call applies.
    assert (
        _decide(flows, registration_id, "reject", {"reason_code": "no_record"}).status_code == 409
    )
    patient_id = flows.practice.patient_ids[0]
    body = {"patient_id": patient_id, "score": 40}
    assert _decide(flows, registration_id, "match", body).status_code == 409


def test_roles_practice_scope_and_validation(flows: Flows) -> None:
    registration_id, _, _ = _queued(flows, "Bea", "Billing")
    patient_id = flows.practice.patient_ids[0]
    body = {"patient_id": patient_id, "score": 20}
    assert _decide(flows, registration_id, "match", body, role="billing").status_code == 403
    assert (
        _decide(flows, registration_id, "reject", {"reason_code": "no_record"}, role="billing")
    ).status_code == 403
    # Unknown template, unknown registration.
    assert _decide(flows, registration_id, "reject", {"reason_code": "rude"}).status_code == 422
    assert _decide(flows, "no-such-id", "match", body).status_code == 404

    # Another practice's staff cannot see it, and a patient of another practice cannot be used.
    other = make_practice(flows.db, flows.portal, patients=3, accounts=0)
    other_flows = Flows(other, flows.portal, flows.db, flows.mailbox)
    try:
        assert (
            _decide(
                other_flows,
                registration_id,
                "match",
                {"patient_id": other.patient_ids[0], "score": 20},
            ).status_code
            == 404
        )
        assert (
            _decide(other_flows, registration_id, "reject", {"reason_code": "no_record"})
        ).status_code == 404
    finally:
        other_flows.http.close()
    foreign = {"patient_id": other.patient_ids[0], "score": 20}
    assert _decide(flows, registration_id, "match", foreign).status_code == 404
    assert flows.feed("registration")[-1]["data"]["status"] == "pending"


def test_a_cancelled_registration_cannot_be_decided(flows: Flows) -> None:
    registration_id, _, _ = _queued(flows, "Carl", "Cancelled")

    with flows.db.write() as session:
        row = session.get(Registration, registration_id)
        assert row is not None
        row.status = "cancelled"
    body = {"patient_id": flows.practice.patient_ids[0], "score": 20}
    assert _decide(flows, registration_id, "match", body).status_code == 409


def test_connect_auto_matches_only_on_exact_normalised_name_and_birth_date(flows: Flows) -> None:
    flows.add_patient("Mary-Jo", "O'Neil Jr", "1988-03-04", email="mj.on.file@example.net")
    _, headers = flows.email_account("Mary", "Oneil")
    # Hyphens, apostrophes, case and suffixes do not matter...
    exact = flows.connect(headers, "mary jo", "ONEIL", "1988-03-04").json()
    assert exact["outcome"] == "code_sent"
    # ...a nickname, a typo or a swapped date go to staff review.
    for first, last, dob in (
        ("Molly", "O'Neil", "1988-03-04"),
        ("Mary-Jo", "O'Neill", "1988-03-04"),
        ("Mary-Jo", "O'Neil", "1988-04-03"),
    ):
        assert flows.connect(headers, first, last, dob).json()["outcome"] == "queued"
