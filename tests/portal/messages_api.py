"""Calls of the secure-message API shared by the portal, integration and benchmark code."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem


def start_thread(
    http: requests.Session,
    practice: PortalPractice,
    headers: dict[str, str],
    patient_id: str,
    body: str = "Can I move my appointment to Friday?",
    topic: str = "appointment",
) -> dict[str, Any]:
    response = http.post(
        f"{practice.patient_url}/threads",
        json={"patient_id": patient_id, "topic": topic, "body": body},
        headers={**headers, **idem()},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def staff_reply(
    http: requests.Session,
    practice: PortalPractice,
    headers: dict[str, str],
    thread_id: str,
    body: str = "Yes, Friday at 10 works.",
    key: dict[str, str] | None = None,
) -> requests.Response:
    return http.post(
        f"{practice.staff_url}/threads/{thread_id}/messages",
        json={"body": body},
        headers={**headers, **(key or idem())},
        timeout=10,
    )


def staff_call(
    http: requests.Session,
    practice: PortalPractice,
    headers: dict[str, str],
    thread_id: str,
    action: str,
    body: dict[str, Any] | None = None,
) -> requests.Response:
    return http.post(
        f"{practice.staff_url}/threads/{thread_id}/{action}",
        json=body,
        headers={**headers, **idem()},
        timeout=10,
    )
