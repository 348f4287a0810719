"""Flow 2: registration by username with a security code, then the three security questions;
and the attacks on codes: wrong name, expired, used, revoked, another practice's, locked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from tests.fixtures_portal import make_practice
from tests.patient_flows import Flows, body_of
from tests.portal.helpers import idem
from visitdesk.portal.persistence.models_registration import SecurityCode

THREE = [
    {"question_id": "q01", "answer": "Biscuit"},
    {"question_id": "q05", "answer": "  Volvo   240 "},
    {"question_id": "q09", "answer": "Fleetwood Mac"},
]


def _code_for(flows: Flows, first: str = "José", last: str = "de la Cruz") -> tuple[str, str, str]:
    """A record and a register code for it: (patient id, code, code id)."""
    patient_id = flows.add_patient(first, last, "1984-03-09", email="jose@example.net")
    issued = flows.issued_code(patient_id)
    return patient_id, issued["code"], issued["security_code"]["id"]


def test_register_by_username_step_by_step(flows: Flows) -> None:
    patient_id, code, code_id = _code_for(flows)
    # Step 1: no email given -> the client must say whether to add one or proceed without.
    body: dict[str, Any] = {"username": "jcruz84"}
    no_choice = flows.register_username(code, "José", "de la Cruz", email_choice=None, **body)
    assert no_choice.status_code == 422
    assert "proceed without email" in no_choice.json()["detail"]
    add = flows.register_username(code, "José", "de la Cruz", email_choice="add", **body)
    assert add.status_code == 422

    # Step 2: names as typed by a person (case, accents, spaces) and the code in lower case
    # without dashes connect the account to the code's patient.
    typed_code = code.replace("-", " ").lower()
    response = flows.register_username(
        typed_code, "  jose ", "DE  LA   cruz", email_choice="proceed_without", **body
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert response.json()["account"]["display_name"] == "José de la Cruz"
    # The dashboard waits for the security questions (the portal holds the line, not only the app).
    refused = flows.get("/patients", headers)
    assert refused.status_code == 403 and "security questions" in refused.json()["detail"]
    refused = flows.post("/checkins", {"patient_id": "any"}, headers)  # writes too
    assert refused.status_code == 403 and "security questions" in refused.json()["detail"]

    # The code is used now, and the desk hears of it through the feed.
    assert flows.code(code_id)["status"] == "used"
    assert flows.feed("security_code")[-1]["data"]["status"] == "used"

    # Step 3: the account asks for its three security questions.
    account = flows.get("/account", headers).json()
    assert account["username"] == "jcruz84" and account["email"] is None
    assert account["needs_security_questions"] is True
    questions = flows.get("/security-questions").json()
    assert 10 <= len(questions) <= 12
    assert len({q["id"] for q in questions}) == len(questions)
    set_ = flows.post("/account/security-questions", {"answers": THREE}, headers)
    assert set_.status_code == 201, set_.text
    assert set_.json()["question_ids"] == ["q01", "q05", "q09"]
    assert flows.get("/account", headers).json()["needs_security_questions"] is False
    [linked] = flows.get("/patients", headers).json()
    assert (linked["patient_id"], linked["relationship"]) == (patient_id, "self")
    assert flows.get(f"/patients/{patient_id}", headers).status_code == 200

    # Step 4: sign in again by username, any case.
    flows.sign_in("JCRUZ84")


def test_security_questions_can_never_be_changed(flows: Flows) -> None:
    _, code, _ = _code_for(flows)
    response = flows.register_username(code, "José", "de la Cruz")
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert flows.post("/account/security-questions", {"answers": THREE}, headers).status_code == 201
    other = [{"question_id": q, "answer": "x"} for q in ("q02", "q03", "q04")]
    for answers in (other, THREE):
        refused = flows.post("/account/security-questions", {"answers": answers}, headers)
        assert refused.status_code == 409
        assert "cannot be changed" in refused.json()["detail"]
    status = flows.get("/account/security-questions", headers).json()
    assert status["question_ids"] == ["q01", "q05", "q09"]
    assert "answer" not in str(status).casefold().replace("answers", "")


def test_security_questions_must_be_three_distinct_known_with_answers(flows: Flows) -> None:
    _, headers = flows.email_account()
    cases = [
        [THREE[0], THREE[0], THREE[1]],  # duplicate question
        THREE[:2],  # two only
        [*THREE, {"question_id": "q02", "answer": "x"}],  # four
        [THREE[0], THREE[1], {"question_id": "q99", "answer": "x"}],  # not on the list
        [THREE[0], THREE[1], {"question_id": "q02", "answer": "   "}],  # empty answer
    ]
    for answers in cases:
        response = flows.post("/account/security-questions", {"answers": answers}, headers)
        assert response.status_code == 422, answers
    duplicate = flows.post(
        "/account/security-questions", {"answers": [THREE[0], THREE[0], THREE[1]]}, headers
    )
    assert "different" in duplicate.json()["detail"]
    assert flows.get("/account/security-questions", headers).json()["set"] is False


def test_username_registration_with_email_sends_a_confirmation(flows: Flows) -> None:
    _, code, _ = _code_for(flows)
    response = flows.register_username(code, "Jose", "De La Cruz", email="Jose.C@Example.org")
    assert response.status_code == 201, response.text
    [mail] = flows.mailbox.wait_for("jose.c@example.org")
    assert "confirm" in body_of(mail).casefold()


def test_wrong_name_counts_against_the_code_and_the_sixth_attempt_is_locked(
    flows: Flows,
) -> None:
    _, code, code_id = _code_for(flows, "Marta", "Lindqvist")
    for attempt in range(1, 6):
        response = flows.register_username(code, "Martha", "Lindqvist")
        assert response.status_code == 422
        assert "must be exactly as on the patient record" in response.json()["detail"]
        assert flows.code(code_id)["failed_attempts"] == attempt
    assert flows.code(code_id)["status"] == "locked"
    sixth = flows.register_username(code, "Marta", "Lindqvist")  # even the right name
    assert sixth.status_code == 422
    assert "locked" in sixth.json()["detail"]
    assert flows.feed("security_code")[-1]["data"]["status"] == "locked"


def test_expired_used_and_revoked_codes_are_refused(flows: Flows) -> None:
    _, expired, expired_id = _code_for(flows, "Ann", "Expired")
    with flows.db.write() as session:
        session.execute(
            update(SecurityCode)
            .where(SecurityCode.id == expired_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = flows.register_username(expired, "Ann", "Expired")
    assert response.status_code == 422 and "expired" in response.json()["detail"]

    _, used, _ = _code_for(flows, "Ann", "Used")
    assert flows.register_username(used, "Ann", "Used").status_code == 201
    again = flows.register_username(used, "Ann", "Used")
    assert again.status_code == 422 and "already used" in again.json()["detail"]

    _, revoked, revoked_id = _code_for(flows, "Ann", "Revoked")
    flows.http.post(
        f"{flows.practice.staff_url}/security-codes/{revoked_id}/revoke",
        headers={**flows.staff(), **idem()},
        timeout=10,
    ).raise_for_status()
    response = flows.register_username(revoked, "Ann", "Revoked")
    assert response.status_code == 422 and "cancelled" in response.json()["detail"]


def test_a_code_from_another_practice_is_not_valid_here(flows: Flows) -> None:
    other = make_practice(flows.db, flows.portal, patients=20, accounts=1)
    other_flows = Flows(other, flows.portal, flows.db, flows.mailbox)
    try:
        patient_id = other_flows.add_patient("Ines", "Borromeo", "1990-01-02")
        issued = other_flows.issued_code(patient_id)
        response = flows.register_username(issued["code"], "Ines", "Borromeo")
        assert response.status_code == 422
        assert "not valid" in response.json()["detail"]
        untouched = other_flows.code(issued["security_code"]["id"])
        assert (untouched["status"], untouched["failed_attempts"]) == ("active", 0)
        # At its own practice the same code works.
        ok = other_flows.register_username(issued["code"], "Ines", "Borromeo")
        assert ok.status_code == 201
    finally:
        other_flows.http.close()


def test_a_link_code_cannot_create_an_account(flows: Flows) -> None:
    patient_id = flows.add_patient("Theo", "Marsh", "2015-06-01")
    code = flows.issued_code(patient_id, "link", relationship="child")["code"]
    response = flows.register_username(code, "Theo", "Marsh")
    assert response.status_code == 422
    assert "Link a family member" in response.json()["detail"]


def test_malformed_codes_and_taken_usernames(flows: Flows) -> None:
    _, code, code_id = _code_for(flows)
    malformed = flows.register_username("K7QM-3XHP-TW9", "José", "de la Cruz")
    assert malformed.status_code == 422 and "12 letters" in malformed.json()["detail"]
    taken = flows.register_username(code, "José", "de la Cruz", username=None)
    assert taken.status_code == 201
    username = flows.get(
        "/account", {"Authorization": f"Bearer {taken.json()['access_token']}"}
    ).json()["username"]
    _, code2, code2_id = _code_for(flows, "Jose", "Second")
    clash = flows.register_username(code2, "Jose", "Second", username=username.upper())
    assert clash.status_code == 409
    assert flows.code(code2_id)["status"] == "active"  # not spent on a refused registration
    assert flows.code(code_id)["status"] == "used"


def test_unknown_codes_are_throttled_per_client_address(flows: Flows) -> None:
    # code_entry_max_failures defaults to 10 per practice and address.
    statuses = [flows.register_username("ABCD-EFGH-JKMN", "A", "B").status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    _, code, _ = _code_for(flows)
    throttled = flows.register_username(code, "José", "de la Cruz")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0


def test_an_email_with_an_account_is_not_revealed_to_a_code_holder(flows: Flows) -> None:
    taken, _ = flows.email_account()
    fresh = f"{uuid.uuid4().hex[:12]}@example.org"
    answers = {}
    for first, last, address in (("Kim", "Taken", taken), ("Kim", "Fresh", fresh)):
        _, code, _ = _code_for(flows, first, last)
        response = flows.register_username(code, first, last, email=address)
        assert response.status_code == 201, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        account = flows.get("/account", headers).json()
        resend = flows.post("/account/email-confirmation/resend", {}, headers)
        answers[address] = (account["email"], account["email_confirmed"], resend.status_code)
    # Both registrants see the same: their address, unconfirmed, and a resend that is accepted.
    assert answers == {taken: (taken, False, 202), fresh: (fresh, False, 202)}
    # The owner of the taken address was told; the registrant got no confirmation for it.
    subjects = [m["Subject"] for m in flows.mailbox.wait_for(taken, 3)]
    assert subjects.count("Someone tried to register with your email address") == 2
