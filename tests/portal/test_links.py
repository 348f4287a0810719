"""Flows 4 and 5: linking family members with "link" codes, several practices per account, and
an account reading only its own patients."""

from __future__ import annotations

import requests

from tests.fixtures_portal import make_practice
from tests.patient_flows import Flows


def _link(
    flows: Flows, headers: dict[str, str], code: str, practice_code: str | None = None
) -> requests.Response:
    body = {"practice_code": practice_code or flows.practice.practice_code, "security_code": code}
    return flows.post("/links", body, headers)


def test_link_a_family_member_step_by_step(flows: Flows) -> None:
    # A username account for the parent (flow 2) ...
    parent = flows.add_patient("Priya", "Raman", "1982-02-02")
    parent_code = flows.issued_code(parent)["code"]
    registered = flows.register_username(parent_code, "Priya", "Raman", username="praman82")
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    flows.set_security_questions(headers)

    # ... is given a link code for her son, restricted to her account.
    child = flows.add_patient("Arjun", "Raman", "2016-10-10")
    issued = flows.issued_code(child, "link", relationship="child", account_login="praman82")
    response = _link(flows, headers, issued["code"].lower())
    assert response.status_code == 201, response.text
    assert (response.json()["patient_id"], response.json()["relationship"]) == (child, "child")

    linked = {p["patient_id"]: p["relationship"] for p in flows.get("/patients", headers).json()}
    assert linked == {parent: "self", child: "child"}
    assert flows.code(issued["security_code"]["id"])["status"] == "used"
    assert flows.get(f"/patients/{child}", headers).json()["first_name"] == "Arjun"
    again = _link(flows, headers, issued["code"])
    assert again.status_code == 422 and "already used" in again.json()["detail"]


def test_a_link_code_for_another_account_counts_as_a_wrong_attempt(flows: Flows) -> None:
    child = flows.add_patient("Mia", "Stone", "2018-03-03")
    named = flows.practice.patients[0].login
    issued = flows.issued_code(child, "link", relationship="child", account_login=named)
    _, stranger = flows.email_account()
    refused = _link(flows, stranger, issued["code"])
    assert refused.status_code == 422 and "another portal account" in refused.json()["detail"]
    assert flows.code(issued["security_code"]["id"])["failed_attempts"] == 1
    owner = flows.sign_in(named, flows.practice.patients[0].password)
    assert _link(flows, owner, issued["code"]).status_code == 201


def test_link_code_locks_after_five_wrong_accounts(flows: Flows) -> None:
    child = flows.add_patient("Lock", "Child", "2019-01-01")
    issued = flows.issued_code(
        child, "link", relationship="dependent", account_login=flows.practice.patients[0].login
    )
    _, stranger = flows.email_account()
    for _ in range(5):
        assert _link(flows, stranger, issued["code"]).status_code == 422
    assert flows.code(issued["security_code"]["id"])["status"] == "locked"
    owner = flows.sign_in(flows.practice.patients[0].login, flows.practice.patients[0].password)
    sixth = _link(flows, owner, issued["code"])
    assert sixth.status_code == 422 and "locked" in sixth.json()["detail"]


def test_a_register_code_cannot_link_and_an_already_linked_patient_is_409(flows: Flows) -> None:
    _, headers = flows.email_account()
    patient = flows.add_patient("Reg", "Code", "2000-02-02")
    register_code = flows.issued_code(patient)["code"]
    response = _link(flows, headers, register_code)
    assert response.status_code == 422 and "new account" in response.json()["detail"]

    first = flows.issued_code(patient, "link", relationship="spouse")
    assert _link(flows, headers, first["code"]).status_code == 201
    second = flows.issued_code(patient, "link", relationship="spouse")
    duplicate = _link(flows, headers, second["code"])
    assert duplicate.status_code == 409
    assert flows.code(second["security_code"]["id"])["status"] == "active"


def test_one_account_connects_to_several_practices(flows: Flows) -> None:
    _, headers = flows.email_account()
    here = flows.add_patient("Cora", "Multi", "1975-05-15")
    assert (
        _link(
            flows, headers, flows.issued_code(here, "link", relationship="other")["code"]
        ).status_code
        == 201
    )

    other = make_practice(flows.db, flows.portal, patients=20, accounts=1)
    other_flows = Flows(other, flows.portal, flows.db, flows.mailbox)
    try:
        there = other_flows.add_patient("Cora", "Multi", "1975-05-15")
        code = other_flows.issued_code(there, "link", relationship="other")["code"]
        # The practice code names where the code is from; at the wrong practice it is unknown.
        assert _link(flows, headers, code).status_code == 422
        assert _link(flows, headers, code, other.practice_code).status_code == 201
    finally:
        other_flows.http.close()
    practices = {p["practice_name"] for p in flows.get("/patients", headers).json()}
    assert practices == {flows.practice.practice_name, other.practice_name}


def test_an_account_cannot_read_another_accounts_patient(flows: Flows) -> None:
    mine = flows.sign_in(flows.practice.patients[0].login, flows.practice.patients[0].password)
    theirs = flows.practice.patients[1].patient_ids[0]
    assert flows.get(f"/patients/{theirs}", mine).status_code == 404
    linked = {pid for cred in flows.practice.patients for pid in cred.patient_ids}
    # The seed links random patients to the accounts: pick one that no account has.
    unlinked = next(pid for pid in reversed(flows.practice.patient_ids) if pid not in linked)
    assert flows.get(f"/patients/{unlinked}", mine).status_code == 404
    assert flows.get("/patients/not-an-id", mine).status_code == 404
    own = flows.practice.patients[0].patient_ids[0]
    assert flows.get(f"/patients/{own}", mine).status_code == 200
    tap = flows.post("/checkins", {"patient_id": theirs}, mine)
    assert tap.status_code == 404
    assert flows.get(f"/patients/{own}").status_code == 401


def test_unknown_link_codes_are_throttled_per_account(flows: Flows) -> None:
    _, headers = flows.email_account()
    statuses = [_link(flows, headers, "ZZZZ-ZZZZ-ZZZZ").status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
