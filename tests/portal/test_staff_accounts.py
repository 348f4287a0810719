"""Staff accounts on the real portal: a manager adds staff (with a one-time password), changes roles, disables and enables; a practice never loses its last active manager;
every change is on the audit trail."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem, staff_headers


def _post(http: requests.Session, url: str, headers: dict[str, str], body: Any = None) -> Any:
    return http.post(url, json=body, headers={**headers, **idem()}, timeout=10)


def _staff(http: requests.Session, practice: PortalPractice, headers: dict[str, str]) -> Any:
    answer = http.get(f"{practice.staff_url}/staff", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_add_staff_with_a_one_time_password(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    manager = staff_headers(portal_http, practice, "manager")
    username = f"nurse{uuid.uuid4().hex[:6]}"
    body = {"username": username, "name": "Noor Haddad", "role": "front_desk"}
    added = _post(portal_http, f"{practice.staff_url}/staff", manager, body)
    assert added.status_code == 201, added.text
    one_time = added.json()["one_time_password"]
    assert len(one_time.replace("-", "")) == 16
    again = _post(portal_http, f"{practice.staff_url}/staff", manager, body)
    assert again.status_code == 409
    bad = _post(portal_http, f"{practice.staff_url}/staff", manager, {**body, "username": "a b"})
    assert bad.status_code == 422

    session = portal_http.post(
        f"{practice.staff_url}/sessions",
        json={"practice": practice.practice_code, "username": username, "password": one_time},
        timeout=10,
    )
    assert session.status_code == 200
    assert session.json()["staff"]["role"] == "front_desk"
    listed = {s["username"]: s for s in _staff(portal_http, practice, manager)}
    assert listed[username]["last_sign_in_at"] is not None
    assert listed[username]["active"] is True

    audit = portal_http.get(
        f"{practice.staff_url}/audit", params={"action": "staff."}, headers=manager, timeout=10
    ).json()["events"]
    assert "staff.created" in {e["action"] for e in audit}
    assert one_time not in str(audit)


def test_roles_change_and_the_last_manager_stays(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    manager = staff_headers(portal_http, practice, "manager")
    members = _staff(portal_http, practice, manager)
    manager_id = next(s["id"] for s in members if s["role"] == "manager")
    billing_id = next(s["id"] for s in members if s["role"] == "billing")
    url = practice.staff_url

    demote = _post(portal_http, f"{url}/staff/{manager_id}/role", manager, {"role": "billing"})
    assert demote.status_code == 409 and "at least one active" in demote.json()["detail"]
    self_disable = _post(portal_http, f"{url}/staff/{manager_id}/disable", manager)
    assert self_disable.status_code == 422

    promoted = _post(portal_http, f"{url}/staff/{billing_id}/role", manager, {"role": "manager"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "manager"
    # Now the first manager may step down, and the new one may not be disabled.
    assert (
        _post(portal_http, f"{url}/staff/{manager_id}/role", manager, {"role": "front_desk"})
    ).status_code == 200
    # The demotion applies to the open session at once.
    assert portal_http.get(f"{url}/staff", headers=manager, timeout=10).status_code == 403
    new_manager = staff_headers(portal_http, practice, "billing")
    last = _post(portal_http, f"{url}/staff/{billing_id}/role", new_manager, {"role": "billing"})
    assert last.status_code == 409
    events = portal_http.get(
        f"{url}/audit", params={"action": "staff.role_changed"}, headers=new_manager, timeout=10
    ).json()["events"]
    assert len(events) == 2


def test_disable_and_enable(portal_http: requests.Session, practice: PortalPractice) -> None:
    manager = staff_headers(portal_http, practice, "manager")
    front = staff_headers(portal_http, practice, "front_desk")
    front_id = next(
        s["id"] for s in _staff(portal_http, practice, manager) if s["role"] == "front_desk"
    )
    url = practice.staff_url
    assert _post(portal_http, f"{url}/staff/{front_id}/disable", manager).status_code == 200
    assert portal_http.get(f"{url}/security-codes", headers=front, timeout=10).status_code == 401
    cred = practice.staff["front_desk"]
    refused = portal_http.post(
        f"{url}/sessions",
        json={
            "practice": practice.practice_code,
            "username": cred.username,
            "password": cred.password,
        },
        timeout=10,
    )
    assert refused.status_code == 401
    assert _post(portal_http, f"{url}/staff/{front_id}/enable", manager).status_code == 200
    assert staff_headers(portal_http, practice, "front_desk")
    assert _post(portal_http, f"{url}/staff/nobody/disable", manager).status_code == 404
