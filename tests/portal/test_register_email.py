"""Flow 1: registration by email, over TLS, with the confirmation read back from the SMTP server."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.patient_flows import STRONG_PASSWORD, Flows, body_of


def _token(text: str) -> str:
    found = re.search(r"confirmation code in the portal:\s+(\S+)", text)
    assert found, "no confirmation token in the email"
    return found.group(1)


def test_register_by_email_step_by_step(flows: Flows) -> None:
    address = f"ada.{uuid.uuid4().hex[:8]}@example.org"
    # Step 1: name, email, password, Terms accepted.
    response = flows.register_email("Ada", "Okafor", address.upper())
    assert response.status_code == 202, response.text
    assert response.json()["confirmation_sent_to"] == address.upper()

    # Step 2: the confirmation email arrives at the address given.
    [mail] = flows.mailbox.wait_for(address)
    assert "Confirm your email" in mail["Subject"]
    token = _token(body_of(mail))

    # Step 3: the patient continues without confirming: sign-in works at once.
    headers = flows.sign_in(address)
    account = flows.get("/account", headers).json()
    assert account["email"] == address
    assert account["email_confirmed"] is False
    assert account["display_name"] == "Ada Okafor"
    assert account["needs_security_questions"] is False
    assert flows.get("/patients", headers).json() == []

    # Step 4: confirming later marks the address confirmed; a token works once.
    assert flows.post("/account/email-confirmation", {"token": token}).status_code == 204
    assert flows.get("/account", headers).json()["email_confirmed"] is True
    assert flows.post("/account/email-confirmation", {"token": token}).status_code == 422
    resend = flows.post("/account/email-confirmation/resend", None, headers)
    assert resend.status_code == 409


def test_resend_sends_a_new_working_token(flows: Flows) -> None:
    address, headers = flows.email_account()
    flows.mailbox.wait_for(address)
    assert flows.post("/account/email-confirmation/resend", None, headers).status_code == 202
    messages = flows.mailbox.wait_for(address, count=2)
    token = _token(body_of(messages[-1]))
    assert flows.post("/account/email-confirmation", {"token": token}).status_code == 204


def test_responses_are_identical_for_known_and_unknown_emails(flows: Flows) -> None:
    known, _ = flows.email_account("Known", "Person")
    flows.mailbox.wait_for(known)
    unknown = f"{uuid.uuid4().hex[:12]}@example.org"
    attempt_known = flows.register_email("Mallory", "Intruder", known, "other-violet-lagoon-77")
    attempt_unknown = flows.register_email("Mallory", "Intruder", unknown, "other-violet-lagoon-77")
    assert attempt_known.status_code == attempt_unknown.status_code == 202
    known_body, unknown_body = attempt_known.json(), attempt_unknown.json()
    assert known_body.pop("confirmation_sent_to") == known
    assert unknown_body.pop("confirmation_sent_to") == unknown
    assert known_body == unknown_body
    assert set(attempt_known.headers) == set(attempt_unknown.headers)

    # The owner of the known address is told, and their account is untouched.
    messages = flows.mailbox.wait_for(known, count=2)
    assert "Someone tried to register" in messages[-1]["Subject"]
    flows.sign_in(known)
    wrong = flows.post("/sessions", {"login": known, "password": "other-violet-lagoon-77"})
    assert wrong.status_code == 401


def test_terms_must_be_accepted(flows: Flows) -> None:
    address = f"{uuid.uuid4().hex[:12]}@example.org"
    response = flows.register_email("Ada", "Okafor", address, accept_terms=False)
    assert response.status_code == 422
    assert "Terms" in response.json()["detail"]
    missing = flows.post(
        "/accounts/email",
        {"first_name": "Ada", "last_name": "Okafor", "email": address, "password": STRONG_PASSWORD},
    )
    assert missing.status_code == 422
    assert (
        flows.post("/sessions", {"login": address, "password": STRONG_PASSWORD}).status_code == 401
    )


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short1!", "at least 10"),
        ("Password123", "too common"),
        ("qwertyuiop", "too common"),
        ("aaaaaaaaaaaa", "too common"),
        ("SAME-AS-EMAIL", "email"),
    ],
)
def test_weak_passwords_are_refused(flows: Flows, password: str, words: str) -> None:
    address = "same-as-email@example.org" if password == "SAME-AS-EMAIL" else "x@example.org"
    if password == "SAME-AS-EMAIL":
        password = address
    response = flows.register_email("Ada", "Okafor", address, password)
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_missing_fields_and_bad_email_are_422(flows: Flows) -> None:
    body = {
        "first_name": " ",
        "last_name": "Okafor",
        "email": "not-an-email",
        "password": STRONG_PASSWORD,
        "accept_terms": True,
    }
    assert flows.post("/accounts/email", body).status_code == 422
