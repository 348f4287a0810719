"""Staff passwords over TLS: change one's own (other sessions end); a manager's reset gives a
one-time password that must be changed before the session may do anything else."""

from __future__ import annotations

import requests

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem

NEW_PASSWORD = "quartz-meadow-ladder-58"


def _sign_in(
    http: requests.Session, practice: PortalPractice, role: str, password: str | None = None
) -> requests.Response:
    cred = practice.staff[role]
    return http.post(
        f"{practice.staff_url}/sessions",
        json={
            "practice": practice.practice_code,
            "username": cred.username,
            "password": password or cred.password,
        },
        timeout=10,
    )


def _bearer(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _feed(
    http: requests.Session, practice: PortalPractice, headers: dict[str, str]
) -> requests.Response:
    return http.get(
        f"{practice.staff_url}/changes",
        params={"after": 0, "limit": 1},
        headers=headers,
        timeout=10,
    )


def test_a_staff_member_changes_their_own_password(
    practice: PortalPractice, portal_http: requests.Session
) -> None:
    cred = practice.staff["billing"]
    mine, other = (
        _bearer(_sign_in(portal_http, practice, "billing")),
        _bearer(_sign_in(portal_http, practice, "billing")),
    )
    url = f"{practice.staff_url}/sessions/password"
    wrong = portal_http.post(
        url,
        json={"current_password": "nope-nope-nope-1", "new_password": NEW_PASSWORD},
        headers=mine,
        timeout=10,
    )
    # 422, not 401: the session is fine (a desk reads 401 as "signed out").
    assert (
        wrong.status_code == 422
        and wrong.json()["detail"] == "The current password is not correct."
    )
    weak = portal_http.post(
        url,
        json={"current_password": cred.password, "new_password": "password"},
        headers=mine,
        timeout=10,
    )
    assert weak.status_code == 422
    done = portal_http.post(
        url,
        json={"current_password": cred.password, "new_password": NEW_PASSWORD},
        headers=mine,
        timeout=10,
    )
    assert done.status_code == 204, done.text
    assert _feed(portal_http, practice, mine).status_code == 200  # this session goes on
    assert _feed(portal_http, practice, other).status_code == 401  # every other one ended
    assert _sign_in(portal_http, practice, "billing").status_code == 401
    assert _sign_in(portal_http, practice, "billing", NEW_PASSWORD).status_code == 200


def test_guessing_the_current_password_is_throttled(
    practice: PortalPractice, portal_http: requests.Session
) -> None:
    """A session left open on a workstation cannot be used to find the password by trying."""
    cred = practice.staff["front_desk"]
    mine = _bearer(_sign_in(portal_http, practice, "front_desk"))
    url = f"{practice.staff_url}/sessions/password"
    statuses = [
        portal_http.post(
            url,
            json={"current_password": f"guess-number-{n:03d}", "new_password": NEW_PASSWORD},
            headers=mine,
            timeout=10,
        ).status_code
        for n in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    right = portal_http.post(
        url,
        json={"current_password": cred.password, "new_password": NEW_PASSWORD},
        headers=mine,
        timeout=10,
    )
    assert right.status_code == 429 and "wrong current passwords" in right.json()["detail"]
    assert _feed(portal_http, practice, mine).status_code == 200  # the session itself goes on


def test_a_manager_reset_forces_a_new_password_before_anything_else(
    practice: PortalPractice, portal_http: requests.Session
) -> None:
    desk = practice.staff["front_desk"]
    desk_session = _bearer(_sign_in(portal_http, practice, "front_desk"))
    desk_id = _sign_in(portal_http, practice, "front_desk").json()["staff"]["id"]
    manager = _bearer(_sign_in(portal_http, practice, "manager"))
    reset_url = f"{practice.staff_url}/staff/{desk_id}/password-reset"

    assert portal_http.post(reset_url, headers=desk_session, timeout=10).status_code == 403
    reset = portal_http.post(reset_url, headers=manager, timeout=10)
    assert reset.status_code == 201, reset.text
    one_time = reset.json()["one_time_password"]
    assert len(one_time.replace("-", "")) == 16
    assert _feed(portal_http, practice, desk_session).status_code == 401  # sessions ended
    assert _sign_in(portal_http, practice, "front_desk", desk.password).status_code == 401

    signed_in = _sign_in(portal_http, practice, "front_desk", one_time)
    assert signed_in.json()["password_change_required"] is True
    limited = _bearer(signed_in)
    refused = _feed(portal_http, practice, limited)
    assert refused.status_code == 403 and "choose a new password" in refused.json()["detail"]
    codes = portal_http.post(
        f"{practice.staff_url}/security-codes",
        json={"patient_id": practice.patient_ids[0], "purpose": "register"},
        headers={**limited, **idem()},
        timeout=10,
    )
    assert codes.status_code == 403
    changed = portal_http.post(
        f"{practice.staff_url}/sessions/password",
        json={"current_password": one_time, "new_password": NEW_PASSWORD},
        headers=limited,
        timeout=10,
    )
    assert changed.status_code == 204, changed.text
    assert _feed(portal_http, practice, limited).status_code == 200
    again = _sign_in(portal_http, practice, "front_desk", NEW_PASSWORD)
    assert again.json()["password_change_required"] is False

    # A manager cannot reach another practice's staff, nor reset themself this way.
    assert (
        portal_http.post(
            f"{practice.staff_url}/staff/not-a-staff-id/password-reset", headers=manager, timeout=10
        ).status_code
        == 404
    )
    manager_id = _sign_in(portal_http, practice, "manager").json()["staff"]["id"]
    assert (
        portal_http.post(
            f"{practice.staff_url}/staff/{manager_id}/password-reset", headers=manager, timeout=10
        ).status_code
        == 422
    )
