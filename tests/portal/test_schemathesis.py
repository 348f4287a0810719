"""Schemathesis against the live portal over loopback TLS: every staff and patient operation of
the OpenAPI schema, called with real tokens and generated input (fixed seed, a few examples per
operation). No answer may be a server error, and every answer must be what the schema documents
(status code, content type, body)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures_portal import PortalPractice, http_session, make_practice, portal_test_config
from visitdesk.api.wire import PATIENT_PREFIX, STAFF_PREFIX
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal, start_in_thread

#: Examples per operation and mode: enough to reach the documented answers of most operations,
#: few enough that the whole run takes under a minute on two shared cores.
EXAMPLES = 8
LONGEST_WAIT = 0.2
#: Valid input (the answers must be what the schema documents) and invalid input (4xx, never 500).
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class LivePortal:
    portal: RunningPortal
    practice: PortalPractice
    http: requests.Session
    staff_token: str

    def headers_for(self, path: str) -> dict[str, str]:
        if path.startswith(STAFF_PREFIX):
            return {"Authorization": f"Bearer {self.staff_token}"}
        if path.startswith(PATIENT_PREFIX):
            # A fresh session per call: a generated sign-out or password change ends the last one.
            account = self.practice.patients[0]
            response = self.http.post(
                f"{self.practice.patient_url}/sessions",
                json={"login": account.login, "password": account.password},
                timeout=10,
            )
            response.raise_for_status()
            return {"Authorization": f"Bearer {response.json()['access_token']}"}
        return {}


@pytest.fixture(scope="module")
def live_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePortal]:
    # Its own portal: generated calls write random records that no other test should meet.
    portal = start_in_thread(portal_test_config(tmp_path_factory.mktemp("fuzzed-portal")))
    db = Database.from_url(portal.config.resolved_database_url)
    http = http_session(portal.ca_file)
    try:
        practice = make_practice(db, portal, patients=20, accounts=1)
        manager = practice.staff["manager"]
        signed_in = http.post(
            f"{practice.staff_url}/sessions",
            json={
                "practice": practice.practice_code,
                "username": manager.username,
                "password": manager.password,
            },
            timeout=10,
        )
        signed_in.raise_for_status()
        yield LivePortal(portal, practice, http, signed_in.json()["access_token"])
    finally:
        http.close()
        db.dispose()
        portal.stop()


def test_the_portal_answers_every_operation_as_documented(live_portal: LivePortal) -> None:
    # The operations are walked here rather than by schemathesis' pytest plugin: its lazy
    # fixture loader does not run on this pytest version, and the schema needs the live app.
    schema = schemathesis.openapi.from_dict(live_portal.portal.app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    staff = [op for op in operations if op.path.startswith(STAFF_PREFIX)]
    patient = [op for op in operations if op.path.startswith(PATIENT_PREFIX)]
    assert len(staff) >= 15 and len(patient) >= 25  # the whole API is under test
    failures: list[str] = []
    for operation in operations:
        if operation.path == f"{STAFF_PREFIX}/sessions/password":
            continue  # would change the manager's password under the run's own staff session
        for mode in MODES:
            try:
                _exercise(operation, live_portal, mode)
            except Unsatisfiable:
                # Negative mode only: an operation without input has nothing to make invalid.
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def _exercise(
    operation: schemathesis.APIOperation, live_portal: LivePortal, mode: schemathesis.GenerationMode
) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # a fixed seed: the same cases on every run
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        wait = (case.query or {}).get("wait")
        if isinstance(wait, int | float) and wait > LONGEST_WAIT:
            case.query["wait"] = LONGEST_WAIT  # a long-poll may not hold the run for 30 s
        case.call_and_validate(
            base_url=live_portal.portal.base_url,
            session=live_portal.http,
            headers=live_portal.headers_for(case.path),
            checks=CHECKS,
            verify=str(live_portal.portal.ca_file),  # the portal's own CA, as the desk trusts it
        )

    call()
