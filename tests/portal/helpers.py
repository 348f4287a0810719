"""Small helpers shared by the portal tests (no sleeping: waits use Event.wait)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

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
    """What the migrated database lacks or has beyond the models (empty when they agree)."""
    with db.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
