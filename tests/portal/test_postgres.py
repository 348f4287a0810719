"""The main flows against PostgreSQL, when VISITDESK_TEST_POSTGRES_URL names a scratch database.

Example: VISITDESK_TEST_POSTGRES_URL=postgresql+psycopg://visitdesk:pw@localhost/visitdesk_test
(needs the ``postgres`` extra: psycopg 3).
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fixtures_portal import PortalFactory, http_session, make_practice
from tests.portal.helpers import idem, patient_headers, schema_drift, staff_headers
from visitdesk.portal.persistence import idempotency
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.idempotency import IdempotentCall, Outcome

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
        # The tap's rows go to the server with its COMMIT: all of them are there afterwards,
        # and a retry with the same key replays the stored answer.
        tapper = {**patient_headers(http, practice), **idem()}
        tap_body = {"patient_id": practice.patients[0].patient_ids[0]}
        tap_url = f"{practice.patient_url}/checkins"
        tap = http.post(tap_url, json=tap_body, headers=tapper, timeout=10)
        assert tap.status_code == 201
        again = http.post(tap_url, json=tap_body, headers=tapper, timeout=10)
        assert (again.status_code, again.json()) == (201, tap.json())
        assert again.headers["Idempotency-Replayed"] == "true"
        chat = http.get(
            f"{practice.patient_url}/threads/{tap.json()['thread_id']}", headers=tapper, timeout=10
        ).json()
        assert chat["topic"] == "arrival"
        assert [m["body"] for m in chat["messages"]] == ["I'm here."]
        items = http.get(
            f"{practice.staff_url}/changes", params={"limit": 5000}, headers=headers, timeout=10
        ).json()["items"]
        assert [i["seq"] for i in items] == list(range(1, len(items) + 1))
        assert sum(1 for i in items if i["kind"] == "patient" and i["data"]["mrn"] == "PG-1") == 1
        assert items[-1]["kind"] == "checkin"


def test_an_idempotent_write_without_feed_items_is_stored_and_replayed() -> None:
    # The stored answer goes to the server with the COMMIT even when the call wrote nothing else.
    db = Database.from_url(POSTGRES_URL)
    try:
        db.migrate_schema()
        call = IdempotentCall(
            scope=f"test:{uuid.uuid4()}", key="k", method="POST", path="/x", request_hash="h"
        )
        runs: list[int] = []

        def apply(_session: object) -> Outcome:
            runs.append(1)
            return Outcome(204)

        first = idempotency.execute(db, call, apply)
        again = idempotency.execute(db, call, apply)
        assert (first.status_code, again.status_code) == (204, 204)
        assert again.headers[idempotency.REPLAYED_HEADER] == "true"
        assert runs == [1]
    finally:
        db.dispose()


def test_text_sent_with_the_commit_arrives_exactly_as_written(
    portal_factory: PortalFactory,
) -> None:
    # The tap's rows go to PostgreSQL inside one query string with the driver's quoting: quotes,
    # backslashes, percent signs, placeholders and a right-to-left override must arrive unchanged.
    from sqlalchemy import or_, update

    from visitdesk.portal.persistence.models import PatientAccount

    portal = portal_factory.start(database_url=POSTGRES_URL)
    db = Database.from_url(POSTGRES_URL)
    hostile = "O'Brien \\x %(items)s 100% \u202etxt.exe'); DROP TABLE changes; --"
    try:
        practice = make_practice(db, portal, patients=5, accounts=1)
        with db.write() as session:
            login = practice.patients[0].login
            session.execute(
                update(PatientAccount)
                .where(or_(PatientAccount.username == login, PatientAccount.email == login))
                .values(first_name=hostile)
            )
    finally:
        db.dispose()
    with http_session(portal.ca_file) as http:
        tapper = {**patient_headers(http, practice), **idem()}
        url = f"{practice.patient_url}/checkins"
        body = {"patient_id": practice.patients[0].patient_ids[0]}
        tap = http.post(url, json=body, headers=tapper, timeout=10)
        assert tap.status_code == 201
        chat = http.get(
            f"{practice.patient_url}/threads/{tap.json()['thread_id']}", headers=tapper, timeout=10
        ).json()
        assert chat["messages"][0]["author_name"].startswith(hostile)
        again = http.post(url, json=body, headers=tapper, timeout=10)  # the stored answer
        assert again.json() == tap.json()
