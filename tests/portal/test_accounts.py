"""Patient accounts: sign-out and password change end sessions; forgot password by email (with
reclaiming an address someone else registered); username recovery with the security questions
and, when they fail, a fresh code from the office. Over TLS, mail read back from the SMTP server."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import insert, update

from tests.patient_flows import STRONG_PASSWORD, Flows, body_of
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.models import AccountLink
from visitdesk.portal.persistence.models_registration import PasswordResetToken

NEW_PASSWORD = "lantern-orchard-copper-77"


def _reset_token(flows: Flows, address: str, count: int = 1) -> str:
    text = body_of(flows.mailbox.wait_for(address, count)[-1])
    found = re.search(r"reset code in the portal:\s+(\S+)", text)
    assert found, "no reset token in the email"
    return found.group(1)


def _confirmation_token(flows: Flows, address: str) -> str:
    found = re.search(
        r"confirmation code in the portal:\s+(\S+)", body_of(flows.mailbox.wait_for(address)[0])
    )
    assert found
    return found.group(1)


def test_sign_out_and_password_change_end_sessions_at_once(flows: Flows) -> None:
    address, first = flows.email_account()
    second = flows.sign_in(address)
    assert flows.get("/account", first).status_code == 200
    assert flows.delete("/sessions/current", first).status_code == 204
    assert flows.get("/account", first).status_code == 401  # revoked, though not expired
    assert flows.get("/account", second).status_code == 200

    third = flows.sign_in(address)
    wrong = flows.post(
        "/account/password",
        {"current_password": "not-my-password-1", "new_password": NEW_PASSWORD},
        second,
    )
    assert wrong.status_code == 401
    weak = flows.post(
        "/account/password", {"current_password": STRONG_PASSWORD, "new_password": "short"}, second
    )
    assert weak.status_code == 422
    changed = flows.post(
        "/account/password",
        {"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD},
        second,
    )
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert flows.get("/account", second).status_code == 401
    assert flows.get("/account", third).status_code == 401
    assert flows.get("/account", fresh).status_code == 200
    assert (
        flows.post("/sessions", {"login": address, "password": STRONG_PASSWORD}).status_code == 401
    )
    flows.sign_in(address, NEW_PASSWORD)


def test_forgot_password_sends_a_single_use_expiring_link_and_says_the_same_for_anyone(
    flows: Flows,
) -> None:
    address, headers = flows.email_account()
    confirm = flows.post(
        "/account/email-confirmation", {"token": _confirmation_token(flows, address)}
    )
    assert confirm.status_code == 204
    unknown = f"{uuid.uuid4().hex[:12]}@example.org"
    known_answer = flows.post("/accounts/password-reset", {"email": address.upper()})
    unknown_answer = flows.post("/accounts/password-reset", {"email": unknown})
    assert known_answer.status_code == unknown_answer.status_code == 202
    assert known_answer.json() == unknown_answer.json()
    token = _reset_token(flows, address, 2)
    assert flows.mailbox.to(unknown) == []

    done = flows.post(
        "/accounts/password-reset/confirm", {"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert done.json()["password_set"] is True and done.json()["reclaimed"] is False
    assert flows.get("/account", headers).status_code == 401  # every session ended
    flows.sign_in(address, NEW_PASSWORD)
    again = flows.post(
        "/accounts/password-reset/confirm", {"token": token, "new_password": "another-good-pass-9"}
    )
    assert again.status_code == 422 and "not valid" in again.json()["detail"]

    assert flows.post("/accounts/password-reset", {"email": address}).status_code == 202
    late = _reset_token(flows, address, 3)
    with flows.db.write() as session:
        session.execute(
            update(PasswordResetToken).values(expires_at=utcnow() - timedelta(minutes=1))
        )
    expired = flows.post(
        "/accounts/password-reset/confirm", {"token": late, "new_password": "another-good-pass-9"}
    )
    assert expired.status_code == 422
    flows.sign_in(address, NEW_PASSWORD)


def test_the_owner_of_an_address_reclaims_it_from_whoever_registered_it(flows: Flows) -> None:
    owner = f"{uuid.uuid4().hex[:12]}@example.org"
    assert flows.register_email("Mallory", "Squat", owner).status_code == 202
    squatter = flows.sign_in(owner)
    account_id = flows.get("/account", squatter).json()["id"]
    with flows.db.write() as session:
        session.execute(
            insert(AccountLink).values(
                id=str(uuid.uuid4()),
                account_id=account_id,
                patient_id=flows.practice.patient_ids[0],
                practice_id=flows.practice.practice_id,
                relationship="self",
                created_at=utcnow(),
            )
        )
    assert len(flows.get("/patients", squatter).json()) == 1

    assert flows.post("/accounts/password-reset", {"email": owner}).status_code == 202
    token = _reset_token(flows, owner, 2)  # after the confirmation the squatter caused
    done = flows.post(
        "/accounts/password-reset/confirm", {"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 200 and done.json()["reclaimed"] is True
    assert flows.get("/account", squatter).status_code == 401
    mine = flows.sign_in(owner, NEW_PASSWORD)
    assert flows.get("/patients", mine).json() == []  # what the squatter linked is gone
    assert flows.get("/account", mine).json()["email_confirmed"] is True


def test_an_unconfirmed_address_on_a_username_account_is_released_to_its_owner(
    flows: Flows,
) -> None:
    patient = flows.add_patient("Nora", "Vance", "1979-03-03")
    code = flows.issued_code(patient)["code"]
    owner = f"{uuid.uuid4().hex[:12]}@example.org"
    username = f"nv{uuid.uuid4().hex[:8]}"
    registered = flows.register_username(code, "Nora", "Vance", username=username, email=owner)
    assert registered.status_code == 201, registered.text

    assert flows.post("/accounts/password-reset", {"email": owner}).status_code == 202
    token = _reset_token(flows, owner, 2)
    done = flows.post(
        "/accounts/password-reset/confirm", {"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 200
    assert done.json()["reclaimed"] is True and done.json()["password_set"] is False
    # The username account keeps its holder's password; the address is free to register.
    headers = flows.sign_in(username)
    assert flows.get("/account", headers).json()["email"] is None
    assert flows.register_email("Owen", "Owner", owner).status_code == 202
    flows.sign_in(owner)


def _answers(*texts: str) -> list[dict[str, str]]:
    return [
        {"question_id": q, "answer": a} for q, a in zip(("q01", "q05", "q09"), texts, strict=True)
    ]


def test_username_recovery_with_questions_then_a_fresh_office_code(flows: Flows) -> None:
    patient = flows.add_patient("Iris", "Quill", "1990-09-09")
    username = f"iq{uuid.uuid4().hex[:8]}"
    registered = flows.register_username(
        flows.issued_code(patient)["code"], "Iris", "Quill", username=username
    )
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    assert flows.get("/balance", headers).status_code == 403  # questions first
    flows.set_security_questions(headers)
    assert flows.get("/balance", headers).status_code == 200

    asked = flows.post("/accounts/recovery/questions", {"username": username.upper()}).json()
    assert [q["id"] for q in asked["questions"]] == ["q01", "q05", "q09"]
    nobody = flows.post("/accounts/recovery/questions", {"username": "no-such-user-77"}).json()
    assert len(nobody["questions"]) == 3
    assert (
        flows.post("/accounts/recovery/questions", {"username": "no-such-user-77"}).json() == nobody
    )

    right = {
        "username": username,
        "answers": _answers(" biscuit", "VOLVO", "blondie"),
        "new_password": NEW_PASSWORD,
    }
    recovered = flows.post("/accounts/recovery/answers", right)
    assert recovered.status_code == 200, recovered.text
    assert flows.get("/account", headers).status_code == 401
    flows.sign_in(username, NEW_PASSWORD)

    wrong = {
        **right,
        "answers": _answers("Rex", "Volvo", "Blondie"),
        "new_password": "third-good-pass-31",
    }
    for _ in range(3):
        assert flows.post("/accounts/recovery/answers", wrong).status_code == 401
    locked = flows.post(
        "/accounts/recovery/answers", {**right, "new_password": "third-good-pass-31"}
    )
    assert locked.status_code == 429 and "office" in locked.json()["detail"]
    flows.sign_in(username, NEW_PASSWORD)  # nothing changed

    # The office gives a fresh code for her own record; a code for someone else does not work.
    other = flows.add_patient("Otto", "Quill", "1991-01-01")
    other_code = flows.issued_code(other)["code"]
    body = {
        "practice_code": flows.practice.practice_code,
        "username": username,
        "new_password": "fourth-good-pass-4",
    }
    refused = flows.post("/accounts/recovery/code", {**body, "security_code": other_code})
    assert refused.status_code == 422
    fresh = flows.issued_code(patient)
    done = flows.post("/accounts/recovery/code", {**body, "security_code": fresh["code"]})
    assert done.status_code == 200, done.text
    flows.sign_in(username, "fourth-good-pass-4")
    assert flows.code(fresh["security_code"]["id"])["status"] == "used"
    # The office vouched for her: the questions work again.
    assert flows.post("/accounts/recovery/answers", right).status_code == 200
