"""Logs carry no PHI, no tokens and no query strings."""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests
from fastapi import FastAPI

from tests.fixtures_portal import PortalFactory, PortalPractice, http_session
from tests.portal.helpers import idem, patient_headers, sign_in_staff, wait_until
from visitdesk.api.wire import STAFF_PREFIX
from visitdesk.portal.web.logs import JsonFormatter, StripQueryFilter


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


def test_a_crash_logs_its_class_and_route_but_no_traceback_or_message(
    portal_factory: PortalFactory,
) -> None:
    def with_crashing_route(app: FastAPI) -> FastAPI:
        async def crash() -> None:
            raise RuntimeError("duplicate key (mrn)=(MRN-SECRET-42)")

        app.add_api_route(f"{STAFF_PREFIX}/crash/{{item_id}}", crash)
        return app

    portal = portal_factory.start(wrap=with_crashing_route)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with http_session(portal.ca_file) as http:
            answer = http.get(f"{portal.base_url}{STAFF_PREFIX}/crash/7", timeout=10)
        # uvicorn logs the exception after the response went out.
        wait_until(lambda: '"error": "RuntimeError"' in stream.getvalue())
    finally:
        root.removeHandler(handler)
    assert answer.status_code == 500
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "MRN-SECRET-42" not in stream.getvalue()
    assert "Traceback" not in stream.getvalue()
    errors = [line for line in lines if line.get("error") == "RuntimeError"]
    assert errors, lines  # uvicorn's own record, reduced to the class
    assert all(line["route"] == f"{STAFF_PREFIX}/crash/{{item_id}}" for line in errors)
    assert any(
        line["message"] == f"unexpected error RuntimeError on {STAFF_PREFIX}/crash/{{item_id}}"
        for line in lines
    )
