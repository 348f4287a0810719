"""The desk's security-code calls: issue, list, revoke, reissue, roles and practice scoping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from tests.fixtures_portal import make_practice
from tests.patient_flows import Flows
from tests.portal.helpers import idem
from visitdesk.api.wire_registration import SecurityCodeIssued, SecurityCodeOut
from visitdesk.portal.codes.hashing import ALPHABET, CODE_BITS
from visitdesk.portal.persistence.models import PracticeSetting
from visitdesk.portal.persistence.models_registration import SecurityCode

CODE_FORMAT = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")


def test_alphabet_has_no_look_alikes_and_codes_carry_enough_bits() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert CODE_BITS >= 50


def test_issue_shows_the_code_once_and_lists_it_as_active(flows: Flows) -> None:
    patient_id = flows.practice.patient_ids[3]
    issued = SecurityCodeIssued.model_validate(flows.issued_code(patient_id))
    assert CODE_FORMAT.match(issued.code)
    out = issued.security_code
    assert (out.patient_id, out.purpose, out.relationship, out.status) == (
        patient_id,
        "register",
        "self",
        "active",
    )
    assert out.hint == f"\u2022\u2022\u2022\u2022 {issued.code[-4:]}"
    assert out.issued_by == flows.practice.staff["front_desk"].name
    assert out.failed_attempts == 0 and out.used_at is None and out.revoked_at is None
    days = (out.expires_at - out.issued_at).total_seconds() / 86400
    assert round(days) == 14

    listed = flows.codes(patient_id=patient_id)
    assert [SecurityCodeOut.model_validate(item) for item in listed] == [out]
    assert "code" not in listed[0]

    items = flows.feed("security_code")
    assert [item["id"] for item in items] == [out.id]
    assert SecurityCodeOut.model_validate(items[0]["data"]) == out


def test_issue_for_link_needs_a_relationship_and_takes_an_account(flows: Flows) -> None:
    patient_id = flows.practice.patient_ids[4]
    assert flows.issue_code(patient_id, "link").status_code == 422  # relationship "self"
    assert flows.issue_code(patient_id, "register", relationship="child").status_code == 422
    unknown = flows.issue_code(
        patient_id, "link", relationship="child", account_login="nobody@example.org"
    )
    assert unknown.status_code == 422
    assert "No portal account" in unknown.json()["detail"]
    login = flows.practice.patients[0].login
    issued = flows.issued_code(
        patient_id, "link", relationship="child", account_login=login.upper(), expires_in_days=3
    )
    out = issued["security_code"]
    assert (out["purpose"], out["relationship"]) == ("link", "child")
    expires = datetime.fromisoformat(out["expires_at"]) - datetime.fromisoformat(out["issued_at"])
    assert expires == timedelta(days=3)
    assert flows.issue_code(patient_id, expires_in_days=91).status_code == 422
    assert flows.issue_code(patient_id, expires_in_days=0).status_code == 422


def test_roles_and_practice_scope(flows: Flows) -> None:
    patient_id = flows.practice.patient_ids[5]
    assert flows.issue_code(patient_id, role="billing").status_code == 403
    assert flows.issue_code(patient_id, role="manager").status_code == 201
    listed = flows.http.get(
        f"{flows.practice.staff_url}/security-codes", headers=flows.staff("billing"), timeout=10
    )
    assert listed.status_code == 403

    other = make_practice(flows.db, flows.portal, patients=20, accounts=1)
    assert flows.issue_code(other.patient_ids[0]).status_code == 404
    response = flows.http.get(
        f"{flows.practice.staff_url}/security-codes",
        params={"patient_id": other.patient_ids[0]},
        headers=flows.staff(),
        timeout=10,
    )
    assert response.status_code == 404

    # A code of this practice is invisible to the other practice's staff.
    code_id = flows.issued_code(patient_id)["security_code"]["id"]
    other_flows = Flows(other, flows.portal, flows.db, flows.mailbox)
    try:
        revoke = other_flows.http.post(
            f"{other.staff_url}/security-codes/{code_id}/revoke",
            headers={**other_flows.staff(), **idem()},
            timeout=10,
        )
        assert revoke.status_code == 404
        assert other_flows.codes() == []
    finally:
        other_flows.http.close()


def test_issuing_needs_an_idempotency_key_and_a_repeat_never_replays_the_code(flows: Flows) -> None:
    patient_id = flows.practice.patient_ids[6]
    url = f"{flows.practice.staff_url}/security-codes"
    body = {"patient_id": patient_id, "purpose": "register"}
    assert flows.http.post(url, json=body, headers=flows.staff(), timeout=10).status_code == 400
    headers = {**flows.staff(), **idem()}
    first = flows.http.post(url, json=body, headers=headers, timeout=10)
    assert first.status_code == 201
    code = first.json()["code"]
    again = flows.http.post(url, json=body, headers=headers, timeout=10)
    assert again.status_code == 409
    assert again.json()["security_code_id"] == first.json()["security_code"]["id"]
    assert "Reissue" in again.json()["detail"]
    assert code not in again.text
    assert len(flows.codes(patient_id=patient_id)) == 1  # not issued twice


def test_revoke_and_reissue(flows: Flows) -> None:
    patient_id = flows.practice.patient_ids[7]
    first = flows.issued_code(patient_id, "link", relationship="spouse")
    code_id = first["security_code"]["id"]

    revoke_url = f"{flows.practice.staff_url}/security-codes/{code_id}/revoke"
    revoked = flows.http.post(revoke_url, headers={**flows.staff(), **idem()}, timeout=10)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    again = flows.http.post(revoke_url, headers={**flows.staff(), **idem()}, timeout=10)
    assert again.status_code == 200 and again.json() == revoked.json()

    reissue_url = f"{flows.practice.staff_url}/security-codes/{code_id}/reissue"
    reissued = flows.http.post(reissue_url, headers={**flows.staff(), **idem()}, timeout=10)
    assert reissued.status_code == 201, reissued.text
    new = reissued.json()
    assert new["code"] != first["code"]
    assert new["security_code"]["id"] != code_id
    assert (new["security_code"]["purpose"], new["security_code"]["relationship"]) == (
        "link",
        "spouse",
    )
    statuses = {c["id"]: c["status"] for c in flows.codes(patient_id=patient_id)}
    assert statuses == {code_id: "revoked", new["security_code"]["id"]: "active"}
    assert [c["id"] for c in flows.codes(status="active")] == [new["security_code"]["id"]]
    assert [c["id"] for c in flows.codes(status="revoked")] == [code_id]

    # Reissuing an active code revokes it in the same step.
    active_id = new["security_code"]["id"]
    third = flows.http.post(
        f"{flows.practice.staff_url}/security-codes/{active_id}/reissue",
        headers={**flows.staff(), **idem()},
        timeout=10,
    )
    assert third.status_code == 201
    assert flows.code(active_id)["status"] == "revoked"
    kinds = [item["data"]["status"] for item in flows.feed("security_code")]
    assert kinds.count("active") == 3 and "revoked" in kinds


def test_status_is_computed_and_filterable(flows: Flows) -> None:
    patient_id = flows.practice.patient_ids[8]
    old = flows.issued_code(patient_id)["security_code"]["id"]
    fresh = flows.issued_code(patient_id)["security_code"]["id"]
    with flows.db.write() as session:
        session.execute(
            update(SecurityCode)
            .where(SecurityCode.id == old)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert flows.code(old)["status"] == "expired"
    assert [c["id"] for c in flows.codes(status="expired")] == [old]
    assert [c["id"] for c in flows.codes(status="active", patient_id=patient_id)] == [fresh]
    # Reissuing an expired code gives the patient a working one.
    reissued = flows.http.post(
        f"{flows.practice.staff_url}/security-codes/{old}/reissue",
        headers={**flows.staff(), **idem()},
        timeout=10,
    )
    assert reissued.status_code == 201
    assert reissued.json()["security_code"]["status"] == "active"


def test_the_practice_setting_sets_the_default_validity(flows: Flows) -> None:
    with flows.db.write() as session:
        row = session.scalar(
            select(PracticeSetting).where(
                PracticeSetting.practice_id == flows.practice.practice_id,
                PracticeSetting.key == "security_code_days",
            )
        )
        assert row is not None and row.value == "14"
        row.value = "30"
    out = flows.issued_code(flows.practice.patient_ids[9])["security_code"]
    expires = datetime.fromisoformat(out["expires_at"]) - datetime.fromisoformat(out["issued_at"])
    assert expires == timedelta(days=30)


def test_openapi_documents_the_registration_routes(flows: Flows) -> None:
    schema = flows.http.get(f"{flows.practice.base_url}/openapi.json", timeout=10).json()
    paths = schema["paths"]
    expected = {
        ("/api/staff/v1/security-codes", "post"),
        ("/api/staff/v1/security-codes", "get"),
        ("/api/staff/v1/security-codes/{code_id}/revoke", "post"),
        ("/api/staff/v1/security-codes/{code_id}/reissue", "post"),
        ("/api/patient/v1/accounts/email", "post"),
        ("/api/patient/v1/accounts/username", "post"),
        ("/api/patient/v1/account", "get"),
        ("/api/patient/v1/account/email-confirmation", "post"),
        ("/api/patient/v1/account/email-confirmation/resend", "post"),
        ("/api/patient/v1/security-questions", "get"),
        ("/api/patient/v1/account/security-questions", "get"),
        ("/api/patient/v1/account/security-questions", "post"),
        ("/api/patient/v1/connect", "post"),
        ("/api/patient/v1/connect/{connect_id}/verify", "post"),
        ("/api/patient/v1/connect/{connect_id}", "delete"),
        ("/api/patient/v1/links", "post"),
        ("/api/patient/v1/registrations", "get"),
        ("/api/patient/v1/patients/{patient_id}", "get"),
    }
    present = {(path, method) for path, ops in paths.items() for method in ops}
    assert expected <= present
    issue = paths["/api/staff/v1/security-codes"]["post"]
    assert issue["security"] == [{"StaffBearer": []}]
    assert any(p["name"] == "Idempotency-Key" for p in issue["parameters"])
    created = issue["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("/SecurityCodeIssued")
    assert issue["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CodeAlreadyIssued"
    )
    assert "security" not in paths["/api/patient/v1/accounts/email"]["post"]
    assert paths["/api/patient/v1/connect"]["post"]["security"] == [{"PatientBearer": []}]
