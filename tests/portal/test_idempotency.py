"""Idempotency keys: required on staff writes, replayed, checked against the request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.fixtures_portal import PortalPractice, http_session
from tests.portal.helpers import idem, last_seq, patient_headers, staff_headers


def _body(mrn: str, city: str = "Albany") -> dict[str, Any]:
    return {
        "patients": [
            {
                "mrn": mrn,
                "first_name": "Ana",
                "last_name": "Peña",
                "date_of_birth": "1990-05-01",
                "city": city,
            }
        ]
    }


def test_missing_key_is_400_with_a_clear_message(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    response = portal_http.put(
        f"{practice.staff_url}/patients", json=_body("I-0"), headers=headers, timeout=10
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]


def test_same_key_same_request_replays_the_first_response(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = {**staff_headers(portal_http, practice), **idem()}
    url = f"{practice.staff_url}/patients"
    start = last_seq(portal_http, practice, headers)
    first = portal_http.put(url, json=_body("I-1"), headers=headers, timeout=10)
    assert first.status_code == 200
    assert "Idempotency-Replayed" not in first.headers
    replay = portal_http.put(url, json=_body("I-1"), headers=headers, timeout=10)
    assert replay.status_code == 200
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert replay.content == first.content
    assert replay.json() == {"created": 1, "updated": 0, "unchanged": 0}  # not "unchanged: 1"
    assert last_seq(portal_http, practice, headers) == start + 1


def test_same_key_different_body_is_rejected(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = {**staff_headers(portal_http, practice), **idem()}
    url = f"{practice.staff_url}/patients"
    assert portal_http.put(url, json=_body("I-2"), headers=headers, timeout=10).status_code == 200
    other = portal_http.put(url, json=_body("I-2", city="Trenton"), headers=headers, timeout=10)
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["detail"]


def test_keys_are_scoped_per_practice_path(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = {**staff_headers(portal_http, practice), **idem()}
    portal_http.put(
        f"{practice.staff_url}/patients", json=_body("I-3"), headers=headers, timeout=10
    )
    reused = portal_http.put(
        f"{practice.staff_url}/appointments", json={"appointments": []}, headers=headers, timeout=10
    )
    assert reused.status_code == 422


def test_concurrent_duplicates_apply_once(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = {**staff_headers(portal_http, practice), **idem()}
    url = f"{practice.staff_url}/patients"
    start = last_seq(portal_http, practice, headers)

    def send(_: int) -> tuple[int, bytes]:
        with http_session(practice.ca_file) as http:
            response = http.put(url, json=_body("I-4"), headers=headers, timeout=30)
            return response.status_code, response.content

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(8)))
    assert {status for status, _ in results} == {200}
    assert len({content for _, content in results}) == 1
    assert last_seq(portal_http, practice, headers) == start + 1


def test_failed_calls_are_not_stored(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = {**staff_headers(portal_http, practice), **idem()}
    url = f"{practice.staff_url}/appointments"
    appt = {
        "external_id": "Q1",
        "mrn": "I-5",
        "starts_at": "2030-01-01T10:00:00Z",
        "provider": "Dr. Anita Rao",
    }
    assert (
        portal_http.put(url, json={"appointments": [appt]}, headers=headers, timeout=10).status_code
        == 422
    )
    portal_http.put(
        f"{practice.staff_url}/patients",
        json=_body("I-5"),
        headers={**headers, **idem()},
        timeout=10,
    )
    retried = portal_http.put(url, json={"appointments": [appt]}, headers=headers, timeout=10)
    assert retried.status_code == 200


def test_patient_tap_accepts_an_optional_key(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = {**patient_headers(portal_http, practice), **idem()}
    body = {"patient_id": practice.patients[0].patient_ids[0]}
    first = portal_http.post(
        f"{practice.patient_url}/checkins", json=body, headers=headers, timeout=10
    )
    replay = portal_http.post(
        f"{practice.patient_url}/checkins", json=body, headers=headers, timeout=10
    )
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert replay.json() == first.json()


def test_keys_are_scoped_to_the_user_who_sent_them(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    key = idem()
    url = f"{practice.staff_url}/patients"
    desk = {**staff_headers(portal_http, practice, "front_desk"), **key}
    first = portal_http.put(url, json=_body("I-SCOPE"), headers=desk, timeout=10)
    assert first.status_code == 200
    assert first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    # A manager sending the same key gets a call of their own, not the front desk's response.
    manager = {**staff_headers(portal_http, practice, "manager"), **key}
    second = portal_http.put(url, json=_body("I-SCOPE"), headers=manager, timeout=10)
    assert second.status_code == 200
    assert "Idempotency-Replayed" not in second.headers
    assert second.json() == {"created": 0, "updated": 0, "unchanged": 1}
    again = portal_http.put(url, json=_body("I-SCOPE"), headers=desk, timeout=10)
    assert again.headers["Idempotency-Replayed"] == "true"
