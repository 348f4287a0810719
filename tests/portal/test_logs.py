"""Logs carry no PHI, no tokens and no query strings."""

from __future__ import annotations

import logging

import pytest
import requests

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem, patient_headers, sign_in_staff
from visitdesk.portal.web.logs import StripQueryFilter


def test_access_log_records_lose_their_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/staff/v1/changes?after=5&token=secret", "1.1", 200),
        None,
    )
    assert StripQueryFilter().filter(record)
    assert "secret" not in record.getMessage()
    assert "/api/staff/v1/changes HTTP/1.1" in record.getMessage()


def test_a_busy_flow_logs_no_names_or_tokens(
    portal_http: requests.Session, practice: PortalPractice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="visitdesk")
    tokens = sign_in_staff(portal_http, practice)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    portal_http.post(
        f"{practice.staff_url}/sessions",
        json={"practice": practice.practice_code, "username": "frontdesk", "password": "wrong"},
        timeout=10,
    )
    patient = {
        "mrn": "LOG-1",
        "first_name": "Wilhelmina",
        "last_name": "Quackenbush",
        "date_of_birth": "1970-01-01",
    }
    portal_http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [patient]},
        headers={**headers, **idem()},
        timeout=10,
    )
    tap = portal_http.post(
        f"{practice.patient_url}/checkins",
        json={"patient_id": practice.patients[0].patient_ids[0]},
        headers=patient_headers(portal_http, practice),
        timeout=10,
    )
    assert tap.status_code == 201
    text = caplog.text
    assert "check-in" in text  # the flow did log
    for secret in (
        "Wilhelmina",
        "Quackenbush",
        tokens["access_token"],
        tokens["refresh_token"],
        practice.patients[0].login,
        practice.staff["front_desk"].password,
    ):
        assert secret not in text
