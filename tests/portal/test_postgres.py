"""The main flows against PostgreSQL, when VISITDESK_TEST_POSTGRES_URL names a scratch database.

Example: VISITDESK_TEST_POSTGRES_URL=postgresql+psycopg://visitdesk:pw@localhost/visitdesk_test
(needs the ``postgres`` extra: psycopg 3).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fixtures_portal import PortalFactory, http_session, make_practice
from tests.portal.helpers import (
    idem,
    schema_drift,
    staff_headers,
    tap_first_patient,
)
from visitdesk.portal.persistence.db import Database

POSTGRES_URL = os.environ.get("VISITDESK_TEST_POSTGRES_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="VISITDESK_TEST_POSTGRES_URL is not set"),
]


def test_flows_on_postgres(portal_factory: PortalFactory) -> None:
    portal = portal_factory.start(database_url=POSTGRES_URL)
    db = Database.from_url(POSTGRES_URL)
    try:
        assert schema_drift(db) == []  # the migrations made exactly the models' schema
        practice = make_practice(db, portal, patients=30, accounts=2)
    finally:
        db.dispose()
    with http_session(portal.ca_file) as http:
        headers = staff_headers(http, practice, "manager")  # reads every kind of the feed
        body = {
            "patients": [
                {
                    "mrn": "PG-1",
                    "first_name": "Ana",
                    "last_name": "Peña",
                    "date_of_birth": "1990-05-01",
                }
            ]
        }
        keyed = {**headers, **idem()}

        def send(_: int) -> int:
            with http_session(portal.ca_file) as inner:
                url = f"{practice.staff_url}/patients"
                return inner.put(url, json=body, headers=keyed, timeout=30).status_code

        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(send, range(6))) == {200}
        tap = tap_first_patient(http, practice)
        assert tap.status_code == 201
        items = http.get(
            f"{practice.staff_url}/changes", params={"limit": 5000}, headers=headers, timeout=10
        ).json()["items"]
        assert [i["seq"] for i in items] == list(range(1, len(items) + 1))
        assert sum(1 for i in items if i["kind"] == "patient" and i["data"]["mrn"] == "PG-1") == 1
        assert items[-1]["kind"] == "checkin"
