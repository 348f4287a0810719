"""Small helpers shared by the portal tests (no sleeping: waits use Event.wait)."""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import requests
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, text
from sqlalchemy.schema import CreateIndex

from tests.fixtures_portal import PortalPractice
from visitdesk.portal.persistence.db import Base, Database


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def sign_in_staff(
    http: requests.Session, practice: PortalPractice, role: str = "front_desk"
) -> dict[str, Any]:
    cred = practice.staff[role]
    response = http.post(
        f"{practice.staff_url}/sessions",
        json={
            "practice": practice.practice_code,
            "username": cred.username,
            "password": cred.password,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def staff_headers(
    http: requests.Session, practice: PortalPractice, role: str = "front_desk"
) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign_in_staff(http, practice, role)['access_token']}"}


def patient_headers(
    http: requests.Session, practice: PortalPractice, index: int = 0
) -> dict[str, str]:
    cred = practice.patients[index]
    response = http.post(
        f"{practice.patient_url}/sessions",
        json={"login": cred.login, "password": cred.password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def tap_first_patient(http: requests.Session, practice: PortalPractice) -> requests.Response:
    """I'm Here for the first account's first linked patient, signed in afresh."""
    return http.post(
        f"{practice.patient_url}/checkins",
        json={"patient_id": practice.patients[0].patient_ids[0]},
        headers=patient_headers(http, practice),
        timeout=10,
    )


def last_seq(http: requests.Session, practice: PortalPractice, headers: dict[str, str]) -> int:
    after = 0
    while True:
        page = http.get(
            f"{practice.staff_url}/changes",
            params={"after": after, "limit": 5000},
            headers=headers,
            timeout=10,
        ).json()
        after = page["last_seq"]
        if not page["more"]:
            return after


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``; short waits without time.sleep."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        pause.wait(0.02)
    return predicate()


def schema_drift(db: Database) -> list[object]:
    """What the migrated database lacks or has beyond the models (empty when they agree).

    SQLite's reflection skips indexes on expressions (the linked-accounts search's lower()
    indexes), with a warning; their definitions are compared as SQL text instead.
    """
    with db.engine.connect() as connection:
        with warnings.catch_warnings():
            if connection.dialect.name == "sqlite":
                warnings.filterwarnings(
                    "ignore", "Skipped unsupported reflection of expression-based index"
                )
                warnings.filterwarnings("ignore", "autogenerate skipping")
            drift: list[object] = list(
                compare_metadata(MigrationContext.configure(connection), Base.metadata)
            )
        if connection.dialect.name == "sqlite":
            drift += _sqlite_expression_index_drift(connection)
    return drift


def _sqlite_expression_index_drift(connection: Connection) -> list[object]:
    def canonical(sql: str) -> str:
        return "".join(sql.split()).casefold().replace('"', "")

    made = {
        name: canonical(sql)
        for name, sql in connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        )
    }
    drift: list[object] = []
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            if all(isinstance(e, Column) for e in index.expressions):
                continue  # compared by alembic
            wanted = canonical(str(CreateIndex(index).compile(dialect=connection.dialect)))
            if made.get(str(index.name)) != wanted:
                drift.append(("expression index", index.name, made.get(str(index.name))))
    return drift
