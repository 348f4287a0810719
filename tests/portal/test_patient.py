"""The patient API: sign-in, linked patients, appointments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from tests.fixtures_portal import PortalPractice, make_practice
from tests.portal.helpers import patient_headers
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal


def test_wrong_patient_credentials_are_401_with_one_message(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    cred = practice.patients[0]
    url = f"{practice.patient_url}/sessions"
    wrong_password = portal_http.post(url, json={"login": cred.login, "password": "x"}, timeout=10)
    no_account = portal_http.post(
        url, json={"login": "nobody@example.com", "password": cred.password}, timeout=10
    )
    assert wrong_password.status_code == no_account.status_code == 401
    assert wrong_password.json() == no_account.json()


def test_sign_in_by_email_or_username(
    portal_http: requests.Session, portal_server: RunningPortal, portal_database: Database
) -> None:
    practice = make_practice(portal_database, portal_server, patients=40, accounts=4)
    logins = [cred.login for cred in practice.patients]
    assert "@" in logins[0] and "@" not in logins[3]
    for index in (0, 3):
        cred = practice.patients[index]
        response = portal_http.post(
            f"{practice.patient_url}/sessions",
            json={"login": cred.login.upper(), "password": cred.password},
            timeout=10,
        )
        assert response.status_code == 200, cred.login
        assert response.json()["account"]["display_name"]


def test_linked_patients_only(portal_http: requests.Session, practice: PortalPractice) -> None:
    for index, cred in enumerate(practice.patients):
        headers = patient_headers(portal_http, practice, index)
        linked = portal_http.get(
            f"{practice.patient_url}/patients", headers=headers, timeout=10
        ).json()
        assert [p["patient_id"] for p in linked] == cred.patient_ids
        assert linked[0]["relationship"] == "self"
        assert linked[0]["practice_name"] == practice.practice_name


def test_family_member_is_linked(
    portal_http: requests.Session, portal_server: RunningPortal, portal_database: Database
) -> None:
    practice = make_practice(portal_database, portal_server, patients=40, accounts=2)
    family = practice.patients[1]
    assert len(family.patient_ids) == 2
    headers = patient_headers(portal_http, practice, 1)
    linked = portal_http.get(f"{practice.patient_url}/patients", headers=headers, timeout=10).json()
    assert [p["relationship"] for p in linked] == ["self", "child"]
    assert linked[0]["last_name"] == linked[1]["last_name"]


def test_appointments_are_todays_and_upcoming_of_linked_patients(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice, 1)
    appointments = portal_http.get(
        f"{practice.patient_url}/appointments", headers=headers, timeout=10
    ).json()
    linked = set(practice.patients[1].patient_ids)
    assert appointments
    assert {a["patient_id"] for a in appointments} <= linked
    assert linked <= {a["patient_id"] for a in appointments}  # each has one today
    starts = [datetime.fromisoformat(a["starts_at"]) for a in appointments]
    assert starts == sorted(starts)
    assert min(starts) > datetime.now(UTC) - timedelta(days=1)


def test_patient_calls_need_a_patient_token(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    assert portal_http.get(f"{practice.patient_url}/patients", timeout=10).status_code == 401
