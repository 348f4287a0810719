"""The audit trail on the real portal: staff actions become events naming who, when, which
workstation and which patient (never a code); managers filter them; the head is signed with a key
outside the database; Verify names the first broken event, and a chain rewritten consistently in
the database is still caught."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from tests.patient_flows import Flows
from tests.portal.helpers import idem
from visitdesk.portal.audit_trail.signing import checkpoint_message, verify_signature
from visitdesk.portal.demo.seed import DEMO_TIMEZONE
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.clock import local_today
from visitdesk.portal.persistence.models_registration import AuditEvent, AuditHead

WORKSTATION = {"X-Workstation": "FRONT-DESK-2"}


def _audit(flows: Flows, path: str = "", **params: Any) -> Any:
    response = flows.http.get(
        f"{flows.practice.staff_url}/audit{path}",
        params=params,
        headers=flows.staff("manager"),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _issue(flows: Flows, patient_id: str) -> dict[str, Any]:
    response = flows.http.post(
        f"{flows.practice.staff_url}/security-codes",
        json={"patient_id": patient_id, "purpose": "register"},
        headers={**flows.staff(), **idem(), **WORKSTATION},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_staff_actions_are_events_with_workstation_and_patient_but_no_code(flows: Flows) -> None:
    patient_id = flows.add_patient("Audra", "Quill", "1975-04-04")
    issued = _issue(flows, patient_id)
    events = _audit(flows, patient="quill")["events"]
    assert [e["action"] for e in events] == ["security_code.issued"]
    event = events[0]
    front_desk = flows.practice.staff["front_desk"]
    assert event["actor_name"] == front_desk.name
    assert event["workstation"] == "FRONT-DESK-2"
    assert event["patient_name"] == "Quill, Audra"
    page = json.dumps(_audit(flows))
    assert issued["code"] not in page and issued["code"].replace("-", "") not in page

    by_person = _audit(flows, person=front_desk.name.split()[0].lower())["events"]
    assert by_person and all(e["actor_name"] == front_desk.name for e in by_person)
    assert _audit(flows, action="security_code.")["events"][0]["seq"] == event["seq"]
    assert _audit(flows, action="security_code")["events"] == []  # exact unless it ends in '.'
    today = local_today(DEMO_TIMEZONE).isoformat()  # the practice's day, not the machine's
    assert _audit(flows, since=today, until=today, patient="quill")["events"]
    assert _audit(flows, until="2000-01-01")["events"] == []
    # Sign-ins are events too.
    assert _audit(flows, action="staff.signed_in")["events"]


def test_pages_go_back_by_sequence_and_only_managers_read(flows: Flows) -> None:
    for n in range(3):
        _issue(flows, flows.add_patient("Page", f"Turner{n}", "1980-01-01"))
    everything = _audit(flows)["events"]
    seen: list[int] = []
    before = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if before is not None:
            params["before"] = before
        page = _audit(flows, **params)
        seen += [e["seq"] for e in page["events"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [e["seq"] for e in everything] == sorted(seen, reverse=True)
    for role in ("front_desk", "billing"):
        for path in ("", "/head", "/verify"):
            answer = flows.http.get(
                f"{flows.practice.staff_url}/audit{path}", headers=flows.staff(role), timeout=10
            )
            assert answer.status_code == 403


def test_the_head_is_signed_and_verify_names_an_altered_row(flows: Flows) -> None:
    for n in range(4):
        _issue(flows, flows.add_patient("Row", f"Able{n}", "1980-01-01"))
    head = _audit(flows, "/head")
    message = checkpoint_message(flows.practice.practice_id, head["seq"], head["row_hash"])
    assert verify_signature(head["public_key"], message, head["signature"])
    assert _audit(flows, "/verify")["ok"] is True

    target = _audit(flows, action="security_code.issued")["events"][-1]["seq"]
    with flows.db.write() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.practice_id == flows.practice.practice_id, AuditEvent.seq == target)
            .values(actor_name="Somebody Else")
        )
    result = _audit(flows, "/verify")
    assert (result["ok"], result["broken_at_seq"]) == (False, target)
    assert "changed" in result["reason"]


def test_a_chain_rewritten_consistently_is_still_caught(flows: Flows) -> None:
    for n in range(3):
        _issue(flows, flows.add_patient("Chain", f"Baker{n}", "1980-01-01"))
    signed = _audit(flows, "/head")
    practice_id = flows.practice.practice_id
    # Someone with write access to the database edits an event and recomputes every hash after
    # it, and the head, so the chain on its own verifies.
    with flows.db.write() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.practice_id == practice_id)
                .order_by(AuditEvent.seq)
            )
        )
        events[1].actor_name = "Somebody Else"
        prev = audit.GENESIS_HASH
        for event in events:
            event.prev_hash = prev
            event.row_hash = audit.chain_hash(prev, event)
            prev = event.row_hash
        head = session.get(AuditHead, practice_id)
        assert head is not None
        head.last_hash = prev
    with flows.db.read() as session:
        assert audit.verify(session, practice_id).ok  # the chain alone is fooled
    result = _audit(flows, "/verify")
    assert result["ok"] is False
    assert "rewritten" in result["reason"] and str(signed["seq"]) in result["reason"]
    # The portal does not sign the rewritten head: the last good checkpoint stays the newest.
    _issue(flows, flows.add_patient("Chain", "After", "1980-01-01"))
    assert _audit(flows, "/head")["row_hash"] == signed["row_hash"]


def test_a_statement_run_made_at_the_desk_is_an_event(flows: Flows) -> None:
    body = {
        "action": "statement.run",
        "occurred_at": "2026-12-01T15:00:00+00:00",
        "run_id": 7,
        "statement_count": 120,
        "statement_date": "2026-12-01",
    }
    url = f"{flows.practice.staff_url}/audit/desk-events"
    headers = {**flows.staff("billing"), **idem(), **WORKSTATION}
    first = flows.http.post(url, json=body, headers=headers, timeout=10)
    assert first.status_code == 201, first.text
    again = flows.http.post(url, json=body, headers=headers, timeout=10)
    assert again.json() == first.json()  # the outbox's retry is replayed, not recorded twice
    events = _audit(flows, action="statement.run")["events"]
    assert len(events) == 1
    assert events[0]["actor_name"] == flows.practice.staff["billing"].name
    assert events[0]["workstation"] == "FRONT-DESK-2"
    assert events[0]["details"]["statement_count"] == 120
    unknown = flows.http.post(
        url, json={**body, "action": "anything"}, headers={**headers, **idem()}, timeout=10
    )
    assert unknown.status_code == 422
