"""Check-ins: I'm Here taps and the desk's status changes."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures_portal import PortalPractice, make_practice
from tests.portal.helpers import idem, last_seq, patient_headers, staff_headers
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal


def _tap(
    http: requests.Session, practice: PortalPractice, headers: dict[str, str], **body: Any
) -> requests.Response:
    return http.post(f"{practice.patient_url}/checkins", json=body, headers=headers, timeout=10)


def test_tap_creates_a_check_in_tied_to_todays_appointment(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    patient_id = practice.patients[0].patient_ids[0]
    appointments = portal_http.get(
        f"{practice.patient_url}/appointments", headers=headers, timeout=10
    ).json()
    todays = [a for a in appointments if a["patient_id"] == patient_id]
    response = _tap(
        portal_http, practice, headers, patient_id=patient_id, appointment_id=todays[0]["id"]
    )
    assert response.status_code == 201
    body = response.json()
    assert body["patient_id"] == patient_id
    assert body["appointment_id"] == todays[0]["id"]
    assert body["status"] == "arrived"
    assert body["status_changed_by"] is None


def test_second_tap_the_same_day_returns_the_same_check_in(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    patient_id = practice.patients[0].patient_ids[0]
    first = _tap(portal_http, practice, headers, patient_id=patient_id)
    second = _tap(portal_http, practice, headers, patient_id=patient_id)
    assert first.status_code == 201
    assert first.json()["appointment_id"] is not None  # tied to today's appointment by itself
    assert second.status_code == 200
    assert second.json() == first.json()


def test_a_tap_after_sign_out_is_refused_and_writes_nothing(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    # The session is checked inside the tap's own transaction: an ended one rolls it back.
    headers = {**patient_headers(portal_http, practice), "Idempotency-Key": "after-sign-out"}
    staff = staff_headers(portal_http, practice)
    before = last_seq(portal_http, practice, staff)
    signed_out = portal_http.delete(
        f"{practice.patient_url}/sessions/current", headers=headers, timeout=10
    )
    assert signed_out.status_code == 204
    response = _tap(portal_http, practice, headers, patient_id=practice.patients[0].patient_ids[0])
    assert response.status_code == 401
    assert response.json() == {"detail": "This session has ended; please sign in again."}
    assert last_seq(portal_http, practice, staff) == before
    # Signed in again, the same key is new: the refused call stored no answer.
    again = {**patient_headers(portal_http, practice), "Idempotency-Key": "after-sign-out"}
    retried = _tap(portal_http, practice, again, patient_id=practice.patients[0].patient_ids[0])
    assert retried.status_code == 201
    assert "Idempotency-Replayed" not in retried.headers


def test_tap_for_a_patient_not_linked_to_the_account_is_404(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice, 0)
    linked = set(practice.patients[0].patient_ids)
    stranger = next(pid for pid in practice.patient_ids if pid not in linked)
    response = _tap(portal_http, practice, headers, patient_id=stranger)
    assert response.status_code == 404
    assert response.json() == {"detail": "No such patient on this account."}
    assert _tap(portal_http, practice, headers, patient_id="no-such-id").status_code == 404


def test_tap_tied_to_another_patients_appointment_is_404(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    other_headers = patient_headers(portal_http, practice, 1)
    other_appts = portal_http.get(
        f"{practice.patient_url}/appointments", headers=other_headers, timeout=10
    ).json()
    headers = patient_headers(portal_http, practice, 0)
    response = _tap(
        portal_http,
        practice,
        headers,
        patient_id=practice.patients[0].patient_ids[0],
        appointment_id=other_appts[0]["id"],
    )
    assert response.status_code == 404


def test_desk_acknowledges_and_rooms_recording_who_and_when(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    tap = _tap(
        portal_http,
        practice,
        patient_headers(portal_http, practice),
        patient_id=practice.patients[0].patient_ids[0],
    ).json()
    headers = staff_headers(portal_http, practice)
    url = f"{practice.staff_url}/checkins/{tap['id']}/status"
    acked = portal_http.post(
        url, json={"status": "acknowledged"}, headers={**headers, **idem()}, timeout=10
    )
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["status_changed_by"] == practice.staff["front_desk"].name
    assert acked.json()["status_changed_at"] > tap["status_changed_at"]
    roomed = portal_http.post(
        url, json={"status": "roomed"}, headers={**headers, **idem()}, timeout=10
    )
    assert roomed.json()["status"] == "roomed"
    bad = portal_http.post(
        url, json={"status": "arrived"}, headers={**headers, **idem()}, timeout=10
    )
    assert bad.status_code == 422

    feed = portal_http.get(
        f"{practice.staff_url}/changes", params={"limit": 5000}, headers=headers, timeout=10
    ).json()["items"]
    statuses = [i["data"]["status"] for i in feed if i["kind"] == "checkin"]
    assert statuses == ["arrived", "acknowledged", "roomed"]


def test_billing_may_not_change_check_ins(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    tap = _tap(
        portal_http,
        practice,
        patient_headers(portal_http, practice),
        patient_id=practice.patients[0].patient_ids[0],
    ).json()
    headers = staff_headers(portal_http, practice, "billing")
    response = portal_http.post(
        f"{practice.staff_url}/checkins/{tap['id']}/status",
        json={"status": "acknowledged"},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert response.status_code == 403


def test_check_in_of_another_practice_is_404_like_a_missing_one(
    portal_http: requests.Session,
    practice: PortalPractice,
    portal_server: RunningPortal,
    portal_database: Database,
) -> None:
    other = make_practice(portal_database, portal_server, patients=20, accounts=1)
    theirs = _tap(
        portal_http,
        other,
        patient_headers(portal_http, other),
        patient_id=other.patients[0].patient_ids[0],
    ).json()
    headers = staff_headers(portal_http, practice)
    foreign = portal_http.post(
        f"{practice.staff_url}/checkins/{theirs['id']}/status",
        json={"status": "cancelled"},
        headers={**headers, **idem()},
        timeout=10,
    )
    missing = portal_http.post(
        f"{practice.staff_url}/checkins/does-not-exist/status",
        json={"status": "cancelled"},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_a_cancelled_check_in_allows_a_new_tap(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient_h = patient_headers(portal_http, practice)
    patient_id = practice.patients[0].patient_ids[0]
    first = _tap(portal_http, practice, patient_h, patient_id=patient_id).json()
    headers = staff_headers(portal_http, practice)
    portal_http.post(
        f"{practice.staff_url}/checkins/{first['id']}/status",
        json={"status": "cancelled"},
        headers={**headers, **idem()},
        timeout=10,
    )
    again = _tap(portal_http, practice, patient_h, patient_id=patient_id)
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]
