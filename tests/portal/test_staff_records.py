"""Bulk upserts of patients and appointments, with the change feed they produce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem, last_seq, staff_headers


def _patient(mrn: str, **changes: Any) -> dict[str, Any]:
    record = {
        "mrn": mrn,
        "first_name": "Zoë",
        "last_name": "Núñez-O'Brien",
        "date_of_birth": "1984-02-29",
        "sex": "F",
        "city": "Hartford",
        "email": f"{mrn}@example.org",
    }
    record.update(changes)
    return record


def _feed(
    http: requests.Session, practice: PortalPractice, headers: dict[str, str], after: int
) -> list[dict[str, Any]]:
    page = http.get(
        f"{practice.staff_url}/changes", params={"after": after}, headers=headers, timeout=10
    ).json()
    return page["items"]


def test_bulk_upsert_counts_and_feeds_only_real_changes(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    url = f"{practice.staff_url}/patients"
    start = last_seq(portal_http, practice, headers)

    first = portal_http.put(
        url,
        json={"patients": [_patient("X-1"), _patient("X-2"), _patient("X-3")]},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert first.status_code == 200
    assert first.json() == {"created": 3, "updated": 0, "unchanged": 0}
    created = _feed(portal_http, practice, headers, start)
    assert [(i["kind"], i["data"]["mrn"]) for i in created] == [
        ("patient", "X-1"),
        ("patient", "X-2"),
        ("patient", "X-3"),
    ]
    assert created[0]["data"]["first_name"] == "Zoë"
    assert created[0]["id"] == created[0]["data"]["id"]

    second = portal_http.put(
        url,
        json={"patients": [_patient("X-1"), _patient("X-2", city="Albany"), _patient("X-4")]},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert second.json() == {"created": 1, "updated": 1, "unchanged": 1}
    changed = _feed(portal_http, practice, headers, created[-1]["seq"])
    assert [i["data"]["mrn"] for i in changed] == ["X-2", "X-4"]
    assert changed[0]["data"]["city"] == "Albany"
    assert changed[0]["id"] == created[1]["id"]  # same patient, updated in place


def test_duplicate_mrn_in_one_batch_is_422(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    response = portal_http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [_patient("D-1"), _patient("D-1", city="Albany")]},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert response.status_code == 422
    assert "patients[1]" in response.json()["detail"]


def test_billing_may_not_upsert_but_may_read_the_feed(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice, "billing")
    response = portal_http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [_patient("B-1")]},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this action."}
    feed = portal_http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10)
    assert feed.status_code == 200


def test_manager_may_upsert(portal_http: requests.Session, practice: PortalPractice) -> None:
    headers = staff_headers(portal_http, practice, "manager")
    response = portal_http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [_patient("M-1")]},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert response.status_code == 200


def test_appointments_upsert_by_external_id(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    portal_http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [_patient("AP-1")]},
        headers={**headers, **idem()},
        timeout=10,
    )
    start = last_seq(portal_http, practice, headers)
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    appt = {
        "external_id": "EXT-9",
        "mrn": "AP-1",
        "starts_at": when.astimezone(tz=None).isoformat(),
        "provider": "Dr. Marcus Bell",
        "reason": "Follow-up visit",
    }
    url = f"{practice.staff_url}/appointments"
    first = portal_http.put(
        url, json={"appointments": [appt]}, headers={**headers, **idem()}, timeout=10
    )
    assert first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    same = portal_http.put(
        url, json={"appointments": [appt]}, headers={**headers, **idem()}, timeout=10
    )
    assert same.json() == {"created": 0, "updated": 0, "unchanged": 1}
    moved = {**appt, "status": "cancelled"}
    third = portal_http.put(
        url, json={"appointments": [moved]}, headers={**headers, **idem()}, timeout=10
    )
    assert third.json() == {"created": 0, "updated": 1, "unchanged": 0}
    items = _feed(portal_http, practice, headers, start)
    assert [(i["kind"], i["data"]["status"]) for i in items] == [
        ("appointment", "scheduled"),
        ("appointment", "cancelled"),
    ]
    assert items[0]["data"]["starts_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert items[0]["data"]["mrn"] == "AP-1"


def test_appointment_for_unknown_mrn_names_row_and_mrn(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    portal_http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [_patient("OK-1")]},
        headers={**headers, **idem()},
        timeout=10,
    )
    base = {"starts_at": "2030-01-02T15:00:00+00:00", "provider": "Dr. Anita Rao"}
    response = portal_http.put(
        f"{practice.staff_url}/appointments",
        json={
            "appointments": [
                {**base, "external_id": "E1", "mrn": "OK-1"},
                {**base, "external_id": "E2", "mrn": "GHOST-7"},
            ]
        },
        headers={**headers, **idem()},
        timeout=10,
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "appointments[1]" in detail
    assert "GHOST-7" in detail


def test_mrns_of_another_practice_do_not_count(
    portal_http: requests.Session,
    practice: PortalPractice,
    portal_server: Any,
    portal_database: Any,
) -> None:
    from tests.fixtures_portal import make_practice

    other = make_practice(portal_database, portal_server, patients=20, accounts=1)
    other_headers = staff_headers(portal_http, other)
    portal_http.put(
        f"{other.staff_url}/patients",
        json={"patients": [_patient("ONLY-THERE")]},
        headers={**other_headers, **idem()},
        timeout=10,
    )
    headers = staff_headers(portal_http, practice)
    response = portal_http.put(
        f"{practice.staff_url}/appointments",
        json={
            "appointments": [
                {
                    "external_id": "X",
                    "mrn": "ONLY-THERE",
                    "starts_at": "2030-01-02T15:00:00Z",
                    "provider": "Dr. Anita Rao",
                }
            ]
        },
        headers={**headers, **idem()},
        timeout=10,
    )
    assert response.status_code == 422
