"""The office manager's linked-accounts audit on the real portal: the list with how each link was
made, search and keyset pages, the review rules (with the portal's clock moved by the test),
revoking a link (access ends at once, the holder is emailed without PHI), locking accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from tests.patient_flows import Flows, body_of
from tests.portal.helpers import idem
from visitdesk.portal.links import search
from visitdesk.portal.persistence.clock import Clock


@pytest.fixture
def clock(flows: Flows) -> Iterator[Clock]:
    portal_clock: Clock = flows.portal.app.state.portal.clock
    try:
        yield portal_clock
    finally:
        portal_clock.reset()


def _years_ago(years: int, days: int = 0) -> str:
    today = date.today()
    return (today.replace(year=today.year - years) - timedelta(days=days)).isoformat()


def _links(flows: Flows, **params: Any) -> dict[str, Any]:
    response = flows.http.get(
        f"{flows.practice.staff_url}/links",
        params=params,
        headers=flows.staff("manager"),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _review(flows: Flows) -> list[dict[str, Any]]:
    response = flows.http.get(
        f"{flows.practice.staff_url}/links/review", headers=flows.staff("manager"), timeout=10
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _manager_post(flows: Flows, path: str, body: Any = None) -> Any:
    return flows.http.post(
        f"{flows.practice.staff_url}{path}",
        json=body,
        headers={**flows.staff("manager"), **idem()},
        timeout=10,
    )


def _family(flows: Flows, child_dob: str, relationship: str = "child") -> dict[str, Any]:
    """A parent registered with a code, and a second patient linked with a link code."""
    tag = uuid.uuid4().hex[:8]
    last = f"Fam{tag}"
    parent = flows.add_patient("Dana", last, "1980-05-05")
    code = flows.issued_code(parent)["code"]
    username = f"dana{tag}"
    registered = flows.register_username(code, "Dana", last, username=username)
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    flows.set_security_questions(headers)
    child = flows.add_patient("Kit", last, child_dob)
    issued = flows.issued_code(child, "link", relationship=relationship)
    linked = flows.post(
        "/links",
        {"practice_code": flows.practice.practice_code, "security_code": issued["code"]},
        headers,
    )
    assert linked.status_code == 201, linked.text
    return {
        "parent": parent,
        "child": child,
        "headers": headers,
        "username": username,
        "last": last,
        "code_id": issued["security_code"]["id"],
    }


def _row(flows: Flows, patient_id: str) -> dict[str, Any]:
    rows = _links(flows, limit=500)["rows"]
    return next(row for row in rows if row["patient_id"] == patient_id)


def test_the_list_says_how_and_by_whom_each_link_was_made(flows: Flows) -> None:
    family = _family(flows, _years_ago(8))
    front_desk = flows.practice.staff["front_desk"].name
    row = _row(flows, family["child"])
    assert (row["relationship"], row["method"], row["made_by"]) == (
        "child",
        "security_code",
        front_desk,
    )
    assert row["account_login"] == family["username"]
    assert row["revoked_at"] is None and row["account_locked"] is False
    parent_row = _row(flows, family["parent"])
    assert (parent_row["relationship"], parent_row["method"]) == ("self", "security_code")
    # Registering hands out a session without a sign-in; the first password sign-in is recorded.
    assert row["account_last_sign_in"] is None
    flows.sign_in(family["username"])
    assert _row(flows, family["child"])["account_last_sign_in"] is not None


def test_search_finds_accounts_and_patients_and_pages_follow_a_keyset(flows: Flows) -> None:
    family = _family(flows, _years_ago(6))
    by_patient = _links(flows, q=f"kit {family['last']}")["rows"]
    assert [row["patient_id"] for row in by_patient] == [family["child"]]
    by_login = _links(flows, q=family["username"])["rows"]
    assert {row["patient_id"] for row in by_login} == {family["parent"], family["child"]}
    assert _links(flows, q="%")["rows"] == []  # wildcards are literal

    everything = _links(flows, limit=500)["rows"]
    assert len(everything) >= 4
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if after:
            params["after"] = after
        page = _links(flows, **params)
        seen += [row["link_id"] for row in page["rows"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == [row["link_id"] for row in everything]
    bad = flows.http.get(
        f"{flows.practice.staff_url}/links",
        params={"after": "not-a-cursor"},
        headers=flows.staff("manager"),
        timeout=10,
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("very_common", [search.BROAD, 1], ids=["seek", "name-order"])
def test_each_word_is_the_start_of_a_name_login_or_mrn(
    flows: Flows, monkeypatch: pytest.MonkeyPatch, very_common: int
) -> None:
    """Both ways of running a search give the same rows: led by its rarest word through the
    indexes, or (every word very common; here forced by the threshold) in name order."""
    monkeypatch.setattr(search, "BROAD", very_common)
    family = _family(flows, _years_ago(6))
    last, child = family["last"], family["child"]
    child_mrn = _row(flows, child)["mrn"]

    def patients(q: str) -> set[str]:
        return {row["patient_id"] for row in _links(flows, q=q, limit=500)["rows"]}

    both = {family["parent"], child}
    assert patients(last.upper()) == both  # case does not matter
    assert patients(f"kit {last[:6]}") == {child}  # every word, on the account or the patient
    assert patients(f"{family['username']} kit") == {child}  # a login word and a patient word
    assert patients(child_mrn) == {child}
    assert patients(last[3:]) == set()  # the middle of a name is not searched
    assert patients(f"{last} nobody-has-this") == set()
    assert _links(flows, q=last, status="revoked")["rows"] == []


def test_only_managers_see_or_change_links(flows: Flows) -> None:
    family = _family(flows, _years_ago(9))
    link_id = _row(flows, family["child"])["link_id"]
    for role in ("front_desk", "billing"):
        url = f"{flows.practice.staff_url}/links"
        assert flows.http.get(url, headers=flows.staff(role), timeout=10).status_code == 403
        revoke = flows.http.post(
            f"{url}/{link_id}/revoke",
            json={"reason": "testing"},
            headers={**flows.staff(role), **idem()},
            timeout=10,
        )
        assert revoke.status_code == 403


def test_a_minor_reaching_the_review_age_and_then_18_is_flagged(flows: Flows, clock: Clock) -> None:
    family = _family(flows, _years_ago(11, days=30))
    assert not [i for i in _review(flows) if i["patient_id"] == family["child"]]
    clock.advance(timedelta(days=2 * 366))
    items = [i for i in _review(flows) if i["patient_id"] == family["child"]]
    assert [i["rule"] for i in items] == ["review_age"]
    assert "now 13" in items[0]["detail"]
    clock.advance(timedelta(days=5 * 366))
    items = [i for i in _review(flows) if i["patient_id"] == family["child"]]
    assert [i["rule"] for i in items] == ["turned_18"]

    # The review age is the practice's setting.
    clock.reset()
    clock.advance(timedelta(days=366))
    settings = flows.http.put(
        f"{flows.practice.staff_url}/links/review-settings",
        json={"review_age": 12, "many_patients": 6, "unused_days": 365},
        headers={**flows.staff("manager"), **idem()},
        timeout=10,
    )
    assert settings.status_code == 200, settings.text
    items = [i for i in _review(flows) if i["patient_id"] == family["child"]]
    assert [i["rule"] for i in items] == ["review_age"]


def test_an_adult_linked_as_a_dependant_is_flagged(flows: Flows) -> None:
    family = _family(flows, "1990-01-01", relationship="dependent")
    items = [i for i in _review(flows) if i["patient_id"] == family["child"]]
    assert [i["rule"] for i in items] == ["adult_dependant"]
    spouse = _family(flows, "1979-01-01", relationship="spouse")
    assert not [i for i in _review(flows) if i["patient_id"] == spouse["child"]]


def test_many_patients_and_a_revoked_code_and_long_unused_accounts(
    flows: Flows, clock: Clock
) -> None:
    family = _family(flows, _years_ago(5))
    account_id = _row(flows, family["child"])["account_id"]
    many = flows.http.put(
        f"{flows.practice.staff_url}/links/review-settings",
        json={"review_age": 13, "many_patients": 2, "unused_days": 90},
        headers={**flows.staff("manager"), **idem()},
        timeout=10,
    )
    assert many.status_code == 200
    rules = {(i["rule"], i["account_id"]) for i in _review(flows)}
    assert ("many_patients", account_id) in rules
    assert ("unused", account_id) not in rules
    assert ("code_revoked", account_id) not in rules

    # The front desk learns the code reached the wrong person: revoking a used code is allowed
    # and puts the link it made on the review list.
    revoked = flows.http.post(
        f"{flows.practice.staff_url}/security-codes/{family['code_id']}/revoke",
        headers={**flows.staff(), **idem()},
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    items = [i for i in _review(flows) if i["rule"] == "code_revoked"]
    assert [i["patient_id"] for i in items] == [family["child"]]

    clock.advance(timedelta(days=91))
    unused = [i for i in _review(flows) if i["rule"] == "unused" and i["account_id"] == account_id]
    assert len(unused) == 1 and "over 90 days" in unused[0]["detail"]
    flows.sign_in(family["username"])
    clock.reset()
    clock.advance(timedelta(days=30))
    assert ("unused", account_id) not in {(i["rule"], i["account_id"]) for i in _review(flows)}


def test_revoking_a_link_ends_access_at_once_and_tells_the_holder_without_phi(
    flows: Flows,
) -> None:
    _, headers = flows.email_account("Ola", "Berg")
    address = _
    child = flows.add_patient("Sunniva", "Berg", _years_ago(7))
    issued = flows.issued_code(child, "link", relationship="child")
    linked = flows.post(
        "/links",
        {"practice_code": flows.practice.practice_code, "security_code": issued["code"]},
        headers,
    )
    assert linked.status_code == 201
    assert flows.get(f"/patients/{child}", headers).status_code == 200
    link_id = _row(flows, child)["link_id"]

    no_reason = _manager_post(flows, f"/links/{link_id}/revoke", {"reason": ""})
    assert no_reason.status_code == 422
    revoked = _manager_post(flows, f"/links/{link_id}/revoke", {"reason": "Custody order"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert revoked.json()["revoke_reason"] == "Custody order"
    assert flows.get(f"/patients/{child}", headers).status_code == 404
    assert child not in {p["patient_id"] for p in flows.get("/patients", headers).json()}

    message = flows.mailbox.wait_for(address)[-1]
    text = body_of(message) + str(message["Subject"])
    assert "removed access" in text
    assert "Sunniva" not in text and "Berg" not in text and "Custody" not in text
    assert _links(flows, status="revoked")["rows"][0]["link_id"] == link_id
    assert link_id not in {r["link_id"] for r in _links(flows, status="active", limit=500)["rows"]}


def test_locking_an_account_refuses_its_tokens_and_unlocking_restores_them(flows: Flows) -> None:
    family = _family(flows, _years_ago(10))
    account_id = _row(flows, family["child"])["account_id"]
    headers = flows.sign_in(family["username"])
    locked = _manager_post(flows, f"/accounts/{account_id}/lock", {"reason": "Shared password"})
    assert locked.status_code == 200 and locked.json()["locked"] is True
    assert flows.get("/patients", headers).status_code == 401
    refused = flows.post("/sessions", {"login": family["username"], "password": "x" * 12})
    assert refused.status_code == 401
    assert _row(flows, family["child"])["account_locked"] is True
    unlocked = _manager_post(flows, f"/accounts/{account_id}/unlock")
    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    assert flows.get("/patients", flows.sign_in(family["username"])).status_code == 200


def test_accounts_and_links_of_another_practice_are_not_found(flows: Flows) -> None:
    family = _family(flows, _years_ago(10))
    row = _row(flows, family["child"])
    other = flows.http.post(
        f"{flows.practice.staff_url}/links/{row['link_id']}x/revoke",
        json={"reason": "testing"},
        headers={**flows.staff("manager"), **idem()},
        timeout=10,
    )
    assert other.status_code == 404
    stranger = _manager_post(
        flows, "/accounts/00000000-0000-0000-0000-000000000000/lock", {"reason": "testing"}
    )
    assert stranger.status_code == 404
