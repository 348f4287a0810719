"""Staff sign-in, refresh rotation and reuse detection, sign-out, throttling, access tokens."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import update

from tests.fixtures_portal import TEST_SECRET, PortalPractice
from tests.portal.helpers import idem, sign_in_staff
from visitdesk.api.wire import SessionTokens
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.models import StaffRefreshToken
from visitdesk.portal.web.security import TokenSigner, hash_token


def _changes(http: requests.Session, practice: PortalPractice, access: str) -> requests.Response:
    return http.get(
        f"{practice.staff_url}/changes",
        params={"after": 0, "limit": 1},
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )


def _refresh(http: requests.Session, practice: PortalPractice, token: str) -> requests.Response:
    return http.post(
        f"{practice.staff_url}/sessions/refresh", json={"refresh_token": token}, timeout=10
    )


def test_sign_in_returns_tokens_staff_and_practice(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    tokens = SessionTokens.model_validate(sign_in_staff(portal_http, practice, "manager"))
    assert tokens.staff.role == "manager"
    assert tokens.staff.name == practice.staff["manager"].name
    assert tokens.practice.id == practice.practice_id
    assert tokens.practice.code == practice.practice_code
    assert tokens.expires_in == 15 * 60
    assert _changes(portal_http, practice, tokens.access_token).status_code == 200


def test_sign_in_ignores_case_of_practice_code_and_username(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    cred = practice.staff["billing"]
    response = portal_http.post(
        f"{practice.staff_url}/sessions",
        json={
            "practice": practice.practice_code.upper(),
            "username": cred.username.upper(),
            "password": cred.password,
        },
        timeout=10,
    )
    assert response.status_code == 200


def test_wrong_credentials_get_the_same_401_whatever_was_wrong(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    cred = practice.staff["front_desk"]
    attempts = [
        {"practice": practice.practice_code, "username": cred.username, "password": "nope"},
        {"practice": practice.practice_code, "username": "nobody", "password": cred.password},
        {"practice": "no-such-practice", "username": cred.username, "password": cred.password},
    ]
    answers = []
    for body in attempts:
        response = portal_http.post(f"{practice.staff_url}/sessions", json=body, timeout=10)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        answers.append(response.json())
    assert (
        answers[0]
        == answers[1]
        == answers[2]
        == {"detail": "Incorrect practice, username or password."}
    )


def test_repeated_failures_are_throttled_with_retry_after(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    cred = practice.staff["front_desk"]
    wrong = {"practice": practice.practice_code, "username": cred.username, "password": "bad"}
    statuses = [
        portal_http.post(f"{practice.staff_url}/sessions", json=wrong, timeout=10).status_code
        for _ in range(5)
    ]
    assert statuses == [401] * 5
    locked = portal_http.post(
        f"{practice.staff_url}/sessions", json={**wrong, "password": cred.password}, timeout=10
    )
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert "Too many" in locked.json()["detail"]
    # Another user of the same practice is not affected.
    assert sign_in_staff(portal_http, practice, "manager")["access_token"]


def test_refresh_rotates_and_old_token_stops_working(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    first = sign_in_staff(portal_http, practice)
    rotated = _refresh(portal_http, practice, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert _changes(portal_http, practice, second["access_token"]).status_code == 200
    third = _refresh(portal_http, practice, second["refresh_token"])
    assert third.status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    first = sign_in_staff(portal_http, practice)
    second = _refresh(portal_http, practice, first["refresh_token"]).json()
    # The successor was used: whoever holds `first` now is not the one the answer went to.
    third = _refresh(portal_http, practice, second["refresh_token"]).json()

    reuse = _refresh(portal_http, practice, first["refresh_token"])
    assert reuse.status_code == 401
    # The legitimate newest token is dead too, and so is its access token.
    assert _refresh(portal_http, practice, third["refresh_token"]).status_code == 401
    assert _changes(portal_http, practice, third["access_token"]).status_code == 401
    # A fresh sign-in still works.
    assert sign_in_staff(portal_http, practice)["access_token"]


def _used_long_ago(db: Database, token: str) -> None:
    """Move the rotation of `token` outside the grace window."""
    with db.write() as session:
        session.execute(
            update(StaffRefreshToken)
            .where(StaffRefreshToken.token_hash == hash_token(token))
            .values(used_at=utcnow() - timedelta(seconds=31))
        )


def test_a_rotation_whose_answer_was_lost_can_be_retried_once(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    first = sign_in_staff(portal_http, practice)
    lost = _refresh(portal_http, practice, first["refresh_token"]).json()  # never reaches the desk

    retried = _refresh(portal_http, practice, first["refresh_token"])
    assert retried.status_code == 200
    fresh = retried.json()
    # A fresh rotation, not the lost pair: the portal keeps no refresh token in clear.
    assert fresh["refresh_token"] not in (first["refresh_token"], lost["refresh_token"])
    assert _changes(portal_http, practice, fresh["access_token"]).status_code == 200
    assert _refresh(portal_http, practice, fresh["refresh_token"]).status_code == 200


def test_the_grace_is_used_once_and_the_retired_successor_counts_as_reuse(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    first = sign_in_staff(portal_http, practice)
    _refresh(portal_http, practice, first["refresh_token"])
    fresh = _refresh(portal_http, practice, first["refresh_token"]).json()
    assert _refresh(portal_http, practice, first["refresh_token"]).status_code == 401
    assert _changes(portal_http, practice, fresh["access_token"]).status_code == 401

    other = sign_in_staff(portal_http, practice)
    lost = _refresh(portal_http, practice, other["refresh_token"]).json()
    again = _refresh(portal_http, practice, other["refresh_token"]).json()
    # Someone presents the successor the portal retired: two parties hold this session.
    assert _refresh(portal_http, practice, lost["refresh_token"]).status_code == 401
    assert _refresh(portal_http, practice, again["refresh_token"]).status_code == 401


def test_outside_the_grace_window_a_reused_token_ends_the_session(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    first = sign_in_staff(portal_http, practice)
    second = _refresh(portal_http, practice, first["refresh_token"]).json()
    _used_long_ago(portal_database, first["refresh_token"])
    assert _refresh(portal_http, practice, first["refresh_token"]).status_code == 401
    assert _refresh(portal_http, practice, second["refresh_token"]).status_code == 401


def test_unknown_refresh_token_is_401(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    response = _refresh(portal_http, practice, "not-a-token")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_sign_out_revokes_the_session(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    tokens = sign_in_staff(portal_http, practice)
    body = {"refresh_token": tokens["refresh_token"]}
    missing_key = portal_http.delete(
        f"{practice.staff_url}/sessions/current", json=body, timeout=10
    )
    assert missing_key.status_code == 400
    response = portal_http.delete(
        f"{practice.staff_url}/sessions/current", json=body, headers=idem(), timeout=10
    )
    assert response.status_code == 204
    assert _refresh(portal_http, practice, tokens["refresh_token"]).status_code == 401
    assert _changes(portal_http, practice, tokens["access_token"]).status_code == 401


def test_missing_invalid_and_expired_access_tokens(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    url = f"{practice.staff_url}/changes"
    missing = portal_http.get(url, timeout=10)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")

    invalid = _changes(portal_http, practice, "v1.abc.def")
    assert invalid.status_code == 401
    assert "not valid" in invalid.json()["detail"]

    tokens = sign_in_staff(portal_http, practice)
    staff = tokens["staff"]
    expired_token = TokenSigner(TEST_SECRET.encode()).issue(
        "staff", staff["id"], -5, pid=practice.practice_id, role=staff["role"], sid="x"
    )
    expired = _changes(portal_http, practice, expired_token)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert "expired" in expired.headers["WWW-Authenticate"]


def test_patient_token_is_not_a_staff_token(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    cred = practice.patients[0]
    patient = portal_http.post(
        f"{practice.patient_url}/sessions",
        json={"login": cred.login, "password": cred.password},
        timeout=10,
    ).json()
    assert _changes(portal_http, practice, patient["access_token"]).status_code == 401
