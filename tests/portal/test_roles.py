"""Role enforcement over the whole staff API, driven by the portal's own OpenAPI document: every
staff route, every role, the expected answer (allowed: anything but 401/403; refused: 403), and a
disabled staff member's token refused everywhere (401)."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem, staff_headers
from visitdesk.api.wire import STAFF_PREFIX

EVERYONE = frozenset({"front_desk", "billing", "manager"})
DESK = frozenset({"front_desk", "manager"})
BILLING = frozenset({"billing", "manager"})
MANAGER = frozenset({"manager"})

#: Who may call each staff route. A route missing here fails the test: new routes need a row.
ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("DELETE", "/sessions/current"): EVERYONE,
    ("POST", "/sessions/password"): EVERYONE,
    ("PUT", "/patients"): DESK,
    ("PUT", "/appointments"): DESK,
    ("GET", "/changes"): EVERYONE,
    ("POST", "/checkins/{checkin_id}/status"): DESK,
    ("PUT", "/checkins/{checkin_id}"): DESK,
    ("POST", "/appointments/{appointment_id}/no-show"): DESK,
    ("GET", "/checkin-settings"): EVERYONE,
    ("PUT", "/checkin-settings"): MANAGER,
    ("POST", "/security-codes"): DESK,
    ("GET", "/security-codes"): DESK,
    ("POST", "/security-codes/{code_id}/revoke"): DESK,
    ("POST", "/security-codes/{code_id}/reissue"): DESK,
    ("PUT", "/ledger"): BILLING,
    ("PUT", "/ledger/columns"): BILLING,
    ("POST", "/registrations/{registration_id}/match"): DESK,
    ("POST", "/registrations/{registration_id}/reject"): DESK,
    ("GET", "/demographic-changes"): DESK,
    ("GET", "/demographic-changes/{change_id}"): DESK,
    ("GET", "/card-images/{image_id}"): DESK,
    ("POST", "/demographic-changes/{change_id}/decision"): DESK,
    ("GET", "/links"): MANAGER,
    ("GET", "/links/review"): MANAGER,
    ("GET", "/links/review-settings"): MANAGER,
    ("PUT", "/links/review-settings"): MANAGER,
    ("POST", "/links/{link_id}/revoke"): MANAGER,
    ("POST", "/accounts/{account_id}/lock"): MANAGER,
    ("POST", "/accounts/{account_id}/unlock"): MANAGER,
    ("GET", "/audit"): MANAGER,
    ("GET", "/audit/head"): MANAGER,
    ("GET", "/audit/verify"): MANAGER,
    ("POST", "/audit/desk-events"): BILLING,
    ("GET", "/staff"): MANAGER,
    ("POST", "/staff"): MANAGER,
    ("POST", "/staff/{staff_id}/role"): MANAGER,
    ("POST", "/staff/{staff_id}/disable"): MANAGER,
    ("POST", "/staff/{staff_id}/enable"): MANAGER,
    ("POST", "/staff/{staff_id}/password-reset"): MANAGER,
    ("POST", "/threads/{thread_id}/messages"): DESK,
    ("POST", "/threads/{thread_id}/assign"): DESK,
    ("POST", "/threads/{thread_id}/close"): DESK,
    ("POST", "/threads/{thread_id}/read"): DESK,
    ("GET", "/threads/{thread_id}/attachments/{attachment_id}"): DESK,
    ("GET", "/colleagues"): DESK,
    ("GET", "/quick-texts"): DESK,
    ("PUT", "/quick-texts"): MANAGER,
}
#: Called without a staff access token: signing in and refreshing.
UNAUTHENTICATED = {("POST", "/sessions"), ("POST", "/sessions/refresh")}
#: Their body would change the caller's own session; they are checked with a harmless body.
_BODIES: dict[tuple[str, str], Any] = {
    ("DELETE", "/sessions/current"): {"refresh_token": "not-a-token"},
    # An invalid body: the role check passes (422), the password stays as it is.
    ("POST", "/sessions/password"): {"current_password": "", "new_password": ""},
}


def _staff_routes(http: requests.Session, practice: PortalPractice) -> list[tuple[str, str]]:
    doc = http.get(f"{practice.base_url}/openapi.json", timeout=10).json()
    return [
        (method.upper(), path.removeprefix(STAFF_PREFIX))
        for path, operations in doc["paths"].items()
        if path.startswith(STAFF_PREFIX)
        for method in operations
    ]


def _call(
    http: requests.Session,
    practice: PortalPractice,
    route: tuple[str, str],
    headers: dict[str, str],
) -> requests.Response:
    method, path = route
    # Ids that belong to nobody: the role check comes before the lookup.
    url = practice.staff_url + path.format(
        checkin_id="none",
        appointment_id="none",
        code_id="none",
        registration_id="none",
        link_id="none",
        account_id="none",
        staff_id="none",
        change_id="none",
        image_id="none",
        thread_id="none",
        attachment_id="none",
    )
    body = _BODIES.get(route, {})
    return http.request(
        method,
        url,
        json=None if method == "GET" else body,
        headers={**headers, **idem()},
        timeout=15,
    )


def test_every_staff_route_answers_each_role_as_the_table_says(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    routes = _staff_routes(portal_http, practice)
    assert set(routes) - UNAUTHENTICATED == set(ROLES), "add new staff routes to ROLES"
    headers = {role: staff_headers(portal_http, practice, role) for role in EVERYONE}
    wrong: list[str] = []
    for route, allowed in ROLES.items():
        if route == ("DELETE", "/sessions/current"):
            continue  # identified by its refresh token, not by role (checked below)
        for role in sorted(EVERYONE):
            status = _call(portal_http, practice, route, headers[role]).status_code
            expected_refused = role not in allowed
            if (expected_refused and status != 403) or (
                not expected_refused and status in (401, 403)
            ):
                wrong.append(f"{route} as {role}: {status}")
    assert wrong == []


def test_a_disabled_staff_members_token_is_refused_everywhere_at_once(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    billing = staff_headers(portal_http, practice, "billing")
    manager = staff_headers(portal_http, practice, "manager")
    staff = portal_http.get(f"{practice.staff_url}/staff", headers=manager, timeout=10).json()
    billing_id = next(s["id"] for s in staff if s["role"] == "billing")
    assert portal_http.get(f"{practice.staff_url}/changes", headers=billing, timeout=10).ok
    disabled = portal_http.post(
        f"{practice.staff_url}/staff/{billing_id}/disable",
        headers={**manager, **idem()},
        timeout=10,
    )
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    for route in ROLES:
        if route == ("DELETE", "/sessions/current"):
            continue  # signs out by refresh token; nothing to refuse
        assert _call(portal_http, practice, route, billing).status_code == 401, route
