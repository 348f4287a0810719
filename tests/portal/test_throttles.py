"""Sign-in throttles an attacker cannot walk around by changing address or login."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fixtures_portal import PortalFactory, PortalPractice, http_session, make_practice
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal


@pytest.fixture
def proxied(portal_factory: PortalFactory) -> Iterator[tuple[RunningPortal, PortalPractice]]:
    """A portal behind a (loopback) reverse proxy, so each test request may name its client."""
    portal = portal_factory.start(
        trusted_proxies=("127.0.0.1/32",),
        login_account_max_failures=8,
        login_address_max_failures=6,
    )
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        yield portal, make_practice(db, portal, patients=20, accounts=2)
    finally:
        db.dispose()


def _patient_sign_in(
    http: requests.Session, practice: PortalPractice, login: str, password: str, client: str
) -> requests.Response:
    return http.post(
        f"{practice.patient_url}/sessions",
        json={"login": login, "password": password},
        headers={"X-Forwarded-For": f"{client}, 127.0.0.1"},
        timeout=10,
    )


def test_failures_for_one_account_count_across_addresses(
    proxied: tuple[RunningPortal, PortalPractice],
) -> None:
    portal, practice = proxied
    http = http_session(portal.ca_file)
    cred = practice.patients[0]
    statuses = [
        _patient_sign_in(http, practice, cred.login, "wrong", f"198.51.100.{n}").status_code
        for n in range(1, 9)
    ]
    assert statuses == [401] * 8  # never more than one failure per address
    fresh_address = _patient_sign_in(http, practice, cred.login, cred.password, "203.0.113.9")
    assert fresh_address.status_code == 429
    assert int(fresh_address.headers["Retry-After"]) >= 1
    # The other account is untouched.
    other = practice.patients[1]
    assert _patient_sign_in(http, practice, other.login, other.password, "203.0.113.9").ok


def test_one_address_trying_many_logins_is_throttled(
    proxied: tuple[RunningPortal, PortalPractice],
) -> None:
    portal, practice = proxied
    http = http_session(portal.ca_file)
    attacker = "198.51.100.77"
    statuses = [
        _patient_sign_in(http, practice, f"guess{n}", "pw", attacker).status_code for n in range(6)
    ]
    assert statuses == [401] * 6
    cred = practice.patients[0]
    assert _patient_sign_in(http, practice, cred.login, cred.password, attacker).status_code == 429
    # The same account from its owner's address still works.
    assert _patient_sign_in(http, practice, cred.login, cred.password, "192.0.2.10").ok


def test_staff_sign_in_counts_per_account_across_addresses(
    proxied: tuple[RunningPortal, PortalPractice],
) -> None:
    portal, practice = proxied
    http = http_session(portal.ca_file)
    cred = practice.staff["billing"]
    body = {"practice": practice.practice_code, "username": cred.username}
    for n in range(8):
        wrong = http.post(
            f"{practice.staff_url}/sessions",
            json={**body, "password": "wrong"},
            headers={"X-Forwarded-For": f"198.51.100.{n + 1}"},
            timeout=10,
        )
        assert wrong.status_code == 401
    right = http.post(
        f"{practice.staff_url}/sessions",
        json={**body, "password": cred.password},
        headers={"X-Forwarded-For": "203.0.113.50"},
        timeout=10,
    )
    assert right.status_code == 429


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    practice: PortalPractice, portal_http: requests.Session
) -> None:
    """The session portal trusts no proxy: a client cannot pick a new address per request."""
    cred = practice.patients[0]
    statuses = [
        _patient_sign_in(portal_http, practice, cred.login, "wrong", f"198.51.100.{n}").status_code
        for n in range(1, 7)
    ]
    assert statuses == [401] * 5 + [429]
