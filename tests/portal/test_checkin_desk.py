"""The check-in desk on the portal: the arrival window, turned-away taps the desk sees, desk
check-ins and walk-ins, no-shows (never for an arrived patient) and the practice's settings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select, update

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem, patient_headers, staff_headers
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models import Appointment, Patient


def _appointments(http: requests.Session, practice: PortalPractice, headers: dict[str, str]):
    response = http.get(f"{practice.patient_url}/appointments", headers=headers, timeout=10)
    assert response.status_code == 200
    return response.json()


def _todays(http: requests.Session, practice: PortalPractice, index: int = 0) -> dict[str, Any]:
    headers = patient_headers(http, practice, index)
    patient_id = practice.patients[index].patient_ids[0]
    return next(a for a in _appointments(http, practice, headers) if a["patient_id"] == patient_id)


def _move(db: Database, appointment_id: str, starts_at: datetime) -> None:
    with db.write() as session:
        session.execute(
            update(Appointment).where(Appointment.id == appointment_id).values(starts_at=starts_at)
        )


def _tap(
    http: requests.Session, practice: PortalPractice, index: int = 0, **body: Any
) -> requests.Response:
    headers = patient_headers(http, practice, index)
    body.setdefault("patient_id", practice.patients[index].patient_ids[0])
    return http.post(f"{practice.patient_url}/checkins", json=body, headers=headers, timeout=10)


def _feed(http: requests.Session, practice: PortalPractice, kind: str) -> list[dict[str, Any]]:
    headers = staff_headers(http, practice)
    items = http.get(
        f"{practice.staff_url}/changes", params={"limit": 5000}, headers=headers, timeout=10
    ).json()["items"]
    return [item for item in items if item["kind"] == kind]


def _staff_call(
    http: requests.Session,
    practice: PortalPractice,
    method: str,
    path: str,
    body: Any = None,
    role: str = "front_desk",
) -> requests.Response:
    headers = {**staff_headers(http, practice, role), **idem()}
    return http.request(
        method, f"{practice.staff_url}{path}", json=body, headers=headers, timeout=10
    )


def test_appointments_tell_the_app_when_i_am_here_opens_and_closes(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    appt = _todays(portal_http, practice)
    starts = datetime.fromisoformat(appt["starts_at"])
    assert datetime.fromisoformat(appt["check_in_opens_at"]) == starts - timedelta(minutes=60)
    assert datetime.fromisoformat(appt["check_in_closes_at"]) == starts + timedelta(minutes=30)


def test_too_early_is_turned_away_in_plain_words_and_the_desk_sees_the_attempt(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    appt = _todays(portal_http, practice)
    _move(portal_database, appt["id"], datetime.now(UTC) + timedelta(minutes=90))
    response = _tap(portal_http, practice, appointment_id=appt["id"])
    assert response.status_code == 422
    assert "too early" in response.json()["detail"]
    assert response.json()["detail"].endswith("Please see the front desk.")
    attempts = _feed(portal_http, practice, "arrival_attempt")
    assert [(a["data"]["reason"], a["data"]["appointment_id"]) for a in attempts] == [
        ("too_early", appt["id"])
    ]
    assert not _feed(portal_http, practice, "checkin")
    # Tapping again at once tells the patient the same, without a second line on the board. (For
    # the same appointment: late in the practice's evening, 90 minutes on is tomorrow, and a tap
    # naming no appointment would find none today.)
    again = _tap(portal_http, practice, appointment_id=appt["id"])
    assert again.status_code == 422
    assert again.json()["detail"] == response.json()["detail"]
    assert len(_feed(portal_http, practice, "arrival_attempt")) == 1


def test_too_late_is_turned_away(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    appt = _todays(portal_http, practice)
    _move(portal_database, appt["id"], datetime.now(UTC) - timedelta(minutes=45))
    # Named: just after the practice's midnight, 45 minutes ago was yesterday.
    response = _tap(portal_http, practice, appointment_id=appt["id"])
    assert response.status_code == 422
    assert "too late" in response.json()["detail"]
    assert _feed(portal_http, practice, "arrival_attempt")[0]["data"]["reason"] == "too_late"


def test_no_appointment_today_is_turned_away(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    appt = _todays(portal_http, practice)
    _move(portal_database, appt["id"], datetime.now(UTC) + timedelta(days=3))
    response = _tap(portal_http, practice)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "We could not find an appointment for you today. Please see the front desk."
    )
    attempt = _feed(portal_http, practice, "arrival_attempt")[0]["data"]
    assert attempt["reason"] == "no_appointment"
    assert attempt["appointment_id"] is None


def test_the_window_follows_the_practice_settings(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    appt = _todays(portal_http, practice)
    _move(portal_database, appt["id"], datetime.now(UTC) + timedelta(minutes=90))
    settings = {
        "opens_minutes_before": 120,
        "closes_minutes_after": 15,
        "no_show_grace_minutes": 15,
        "wait_warning_minutes": 5,
        "wait_alert_minutes": 12,
    }
    denied = _staff_call(portal_http, practice, "PUT", "/checkin-settings", settings)
    assert denied.status_code == 403
    written = _staff_call(portal_http, practice, "PUT", "/checkin-settings", settings, "manager")
    assert written.status_code == 200
    read = portal_http.get(
        f"{practice.staff_url}/checkin-settings",
        headers=staff_headers(portal_http, practice),
        timeout=10,
    )
    assert read.json() == settings
    assert [i["data"] for i in _feed(portal_http, practice, "checkin_settings")] == [settings]
    assert _tap(portal_http, practice).status_code == 201


def test_settings_refuse_a_red_threshold_below_the_amber_one(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    body = {"wait_warning_minutes": 30, "wait_alert_minutes": 20}
    response = _staff_call(portal_http, practice, "PUT", "/checkin-settings", body, "manager")
    assert response.status_code == 422


def test_desk_check_in_for_an_appointment_and_the_app_tap_after_it(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    appt = _todays(portal_http, practice)
    checkin_id = str(uuid.uuid4())
    body = {"patient_id": appt["patient_id"], "appointment_id": appt["id"]}
    made = _staff_call(portal_http, practice, "PUT", f"/checkins/{checkin_id}", body)
    assert made.status_code == 201
    out = made.json()
    assert (out["id"], out["source"], out["status"]) == (checkin_id, "desk", "arrived")
    assert out["status_changed_by"] == practice.staff["front_desk"].name
    again = _staff_call(portal_http, practice, "PUT", f"/checkins/{checkin_id}", body)
    assert (again.status_code, again.json()) == (200, out)
    tap = _tap(portal_http, practice)
    assert (tap.status_code, tap.json()["id"]) == (200, checkin_id)


def test_desk_check_in_after_the_app_answers_the_apps_check_in(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    tapped = _tap(portal_http, practice).json()
    body = {"patient_id": tapped["patient_id"]}
    made = _staff_call(portal_http, practice, "PUT", f"/checkins/{uuid.uuid4()}", body)
    assert made.status_code == 200
    assert made.json()["id"] == tapped["id"]
    assert made.json()["source"] == "app"


def test_walk_in_without_appointment(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    with portal_database.read() as session:
        stranger = session.scalar(
            select(Patient.id).where(
                Patient.practice_id == practice.practice_id,
                Patient.id.not_in([p for c in practice.patients for p in c.patient_ids]),
            )
        )
    made = _staff_call(
        portal_http, practice, "PUT", f"/checkins/{uuid.uuid4()}", {"patient_id": stranger}
    )
    assert made.status_code == 201
    assert made.json()["appointment_id"] is None
    assert made.json()["source"] == "desk"
    bad_id = _staff_call(
        portal_http, practice, "PUT", "/checkins/NOT-A-UUID", {"patient_id": stranger}
    )
    assert bad_id.status_code == 422
    missing = _staff_call(
        portal_http, practice, "PUT", f"/checkins/{uuid.uuid4()}", {"patient_id": "nobody"}
    )
    assert missing.status_code == 404


def test_no_show_only_after_the_grace_and_never_for_an_app_arrival(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    first = _todays(portal_http, practice, 0)
    second = _todays(portal_http, practice, 1)
    _move(portal_database, first["id"], datetime.now(UTC) - timedelta(minutes=5))
    soon = _staff_call(portal_http, practice, "POST", f"/appointments/{first['id']}/no-show")
    assert soon.status_code == 422
    assert "Too soon" in soon.json()["detail"]

    # Checked in by the app, then past the grace: still never a no-show.
    assert _tap(portal_http, practice, 1).status_code == 201
    _move(portal_database, second["id"], datetime.now(UTC) - timedelta(minutes=40))
    arrived = _staff_call(portal_http, practice, "POST", f"/appointments/{second['id']}/no-show")
    assert arrived.status_code == 409
    assert "never a no-show" in arrived.json()["detail"]

    _move(portal_database, first["id"], datetime.now(UTC) - timedelta(minutes=25))
    marked = _staff_call(portal_http, practice, "POST", f"/appointments/{first['id']}/no-show")
    assert marked.status_code == 200
    assert marked.json()["no_show_by"] == practice.staff["front_desk"].name
    feed = [i["data"] for i in _feed(portal_http, practice, "appointment")]
    assert feed[-1]["id"] == first["id"] and feed[-1]["no_show_at"] is not None
    # Late but still inside the window: the arrival wins and the mark is cleared.
    assert _tap(portal_http, practice, 0).status_code == 201
    feed = [i["data"] for i in _feed(portal_http, practice, "appointment")]
    assert feed[-1]["id"] == first["id"] and feed[-1]["no_show_at"] is None
    billing = _staff_call(
        portal_http, practice, "POST", f"/appointments/{first['id']}/no-show", role="billing"
    )
    assert billing.status_code == 403


def test_done_ends_the_visit_and_a_late_acknowledge_never_moves_it_back(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    tapped = _tap(portal_http, practice).json()
    path = f"/checkins/{tapped['id']}/status"
    assert _staff_call(portal_http, practice, "POST", path, {"status": "roomed"}).status_code == 200
    late = _staff_call(portal_http, practice, "POST", path, {"status": "acknowledged"})
    assert late.json()["status"] == "roomed"
    done = _staff_call(portal_http, practice, "POST", path, {"status": "done"})
    assert done.json()["status"] == "done"
    # The visit is over: tapping again the same day shows that check-in, not a new one.
    again = _tap(portal_http, practice)
    assert (again.status_code, again.json()["id"]) == (200, tapped["id"])
