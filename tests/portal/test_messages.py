"""Secure messages on the portal: threads, replies, read state, the feed, notices, scoping."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import requests

from tests.fixtures_portal import PortalPractice, make_practice
from tests.portal.helpers import idem, patient_headers, staff_headers
from tests.portal.messages_api import staff_call, staff_reply, start_thread
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal


def _feed(http: requests.Session, practice: PortalPractice, headers: dict[str, str]) -> list[Any]:
    page = http.get(
        f"{practice.staff_url}/changes",
        params={"after": 0, "limit": 5000},
        headers=headers,
        timeout=10,
    ).json()
    return [item for item in page["items"] if item["kind"] in ("thread", "thread_message")]


def test_patient_starts_a_thread_the_desk_sees_it_in_the_feed_and_replies(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    staff = staff_headers(portal_http, practice)
    patient_id = practice.patients[0].patient_ids[0]
    thread = start_thread(portal_http, practice, patient, patient_id)
    assert thread["topic"] == "appointment"
    assert thread["status"] == "open"
    assert [m["number"] for m in thread["messages"]] == [1]
    assert thread["messages"][0]["author_kind"] == "patient"

    items = _feed(portal_http, practice, staff)
    assert [i["kind"] for i in items] == ["thread_message", "thread"]
    summary = items[-1]["data"]
    assert summary["last_patient_number"] == 1
    assert summary["staff_read_number"] == 0  # unread for the desk
    assert summary["assigned_staff_id"] is None

    reply = staff_reply(portal_http, practice, staff, thread["id"])
    assert reply.status_code == 201, reply.text
    assert reply.json()["author_kind"] == "staff"
    listed = portal_http.get(f"{practice.patient_url}/threads", headers=patient, timeout=10)
    assert [t["unread"] for t in listed.json() if t["id"] == thread["id"]] == [True]
    read = portal_http.post(
        f"{practice.patient_url}/threads/{thread['id']}/read",
        json={"up_to": 2},
        headers=patient,
        timeout=10,
    )
    assert read.json()["unread"] is False
    last = _feed(portal_http, practice, staff)[-1]["data"]
    assert last["patient_read_number"] == 2


def test_a_staff_reply_reaches_a_waiting_patient_within_a_second(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    staff = staff_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, patient, practice.patients[0].patient_ids[0])
    result: dict[str, Any] = {}

    def wait() -> None:
        started = time.monotonic()
        response = portal_http.get(
            f"{practice.patient_url}/threads/{thread['id']}/messages",
            params={"after": 1, "wait": 10},
            headers=patient,
            timeout=20,
        )
        result["page"] = response.json()
        result["done"] = time.monotonic()
        result["started"] = started

    waiter = threading.Thread(target=wait)
    waiter.start()
    threading.Event().wait(0.3)  # let the long-poll begin waiting
    sent = time.monotonic()
    assert staff_reply(portal_http, practice, staff, thread["id"]).status_code == 201
    waiter.join(15)
    assert [m["number"] for m in result["page"]["messages"]] == [2]
    # The portal's DB re-check is 5 s in tests: a prompt answer proves the wake-up.
    assert result["done"] - sent < 1.0


def test_assign_close_and_a_patient_reply_reopens(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    staff = staff_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, patient, practice.patients[0].patient_ids[0])
    colleagues = portal_http.get(f"{practice.staff_url}/colleagues", headers=staff, timeout=10)
    roles = {c["role"] for c in colleagues.json()}
    assert roles == {"front_desk", "manager"}  # billing clerks do not work the inbox
    desk = next(c for c in colleagues.json() if c["role"] == "front_desk")
    assigned = staff_call(
        portal_http, practice, staff, thread["id"], "assign", {"staff_id": desk["id"]}
    )
    assert assigned.json()["assigned_name"] == desk["name"]
    billing = sign_in_id(portal_http, practice, "billing")
    refused = staff_call(
        portal_http, practice, staff, thread["id"], "assign", {"staff_id": billing}
    )
    assert refused.status_code == 404
    closed = staff_call(portal_http, practice, staff, thread["id"], "close")
    assert closed.json()["status"] == "closed"
    again = portal_http.post(
        f"{practice.patient_url}/threads/{thread['id']}/messages",
        json={"body": "One more thing."},
        headers=patient,
        timeout=10,
    )
    assert again.status_code == 201
    assert _feed(portal_http, practice, staff)[-1]["data"]["status"] == "open"
    unassigned = staff_call(
        portal_http, practice, staff, thread["id"], "assign", {"staff_id": None}
    )
    assert unassigned.json()["assigned_staff_id"] is None
    replied = staff_reply(portal_http, practice, staff, thread["id"], "Secret words 4417")
    assert replied.status_code == 201

    # On the audit trail: who did what to which patient's thread, never the words.
    trail = portal_http.get(
        f"{practice.staff_url}/audit",
        params={"action": "message."},
        headers=staff_headers(portal_http, practice, "manager"),
        timeout=10,
    )
    events = trail.json()["events"]
    assert [e["action"] for e in reversed(events)] == [
        "message.assigned",
        "message.closed",
        "message.assigned",
        "message.replied",
    ]
    assert {e["patient_id"] for e in events} == {practice.patients[0].patient_ids[0]}
    assert "4417" not in trail.text


def sign_in_id(http: requests.Session, practice: PortalPractice, role: str) -> str:
    from tests.portal.helpers import sign_in_staff

    return str(sign_in_staff(http, practice, role)["staff"]["id"])


def test_billing_cannot_work_the_inbox(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, patient, practice.patients[0].patient_ids[0])
    billing = staff_headers(portal_http, practice, "billing")
    assert staff_reply(portal_http, practice, billing, thread["id"]).status_code == 403


def test_staff_mark_read_is_shared_through_the_feed(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    desk_a = staff_headers(portal_http, practice)
    desk_b = staff_headers(portal_http, practice, "manager")
    thread = start_thread(portal_http, practice, patient, practice.patients[0].patient_ids[0])
    read = staff_call(portal_http, practice, desk_a, thread["id"], "read", {"up_to": 99})
    assert read.json()["staff_read_number"] == 1  # clamped to the last message
    assert _feed(portal_http, practice, desk_b)[-1]["data"]["staff_read_number"] == 1


def test_a_repeated_reply_key_posts_once_and_announces_once(
    portal_http: requests.Session, practice: PortalPractice, portal_server: RunningPortal
) -> None:
    patient = patient_headers(portal_http, practice)
    staff = staff_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, patient, practice.patients[0].patient_ids[0])
    before = _drops(portal_server)
    key = idem()
    first = staff_reply(portal_http, practice, staff, thread["id"], key=key)
    second = staff_reply(portal_http, practice, staff, thread["id"], key=key)
    assert first.json() == second.json()
    assert second.headers.get("Idempotency-Replayed") == "true"
    detail = portal_http.get(
        f"{practice.patient_url}/threads/{thread['id']}", headers=patient, timeout=10
    ).json()
    assert len(detail["messages"]) == 2
    notices = _drops(portal_server) - before
    assert len(notices) == 1
    # A second reply while the first is unread sends no second notice.
    staff_reply(portal_http, practice, staff, thread["id"], body="Also bring your card.")
    assert len(_drops(portal_server) - before) == 1


def _drops(portal: RunningPortal) -> set[Path]:
    found: set[Path] = set()
    for directory in (portal.config.resolved_mail_drop_dir, portal.config.resolved_text_drop_dir):
        if Path(directory).exists():
            found |= {p for p in Path(directory).iterdir() if not p.name.startswith(".")}
    return found


def test_the_notice_carries_no_phi(
    portal_http: requests.Session, practice: PortalPractice, portal_server: RunningPortal
) -> None:
    patient = patient_headers(portal_http, practice)
    staff = staff_headers(portal_http, practice)
    patient_id = practice.patients[0].patient_ids[0]
    thread = start_thread(portal_http, practice, patient, patient_id)
    before = _drops(portal_server)
    secret = "Your biopsy results are ready"
    assert staff_reply(portal_http, practice, staff, thread["id"], body=secret).status_code == 201
    (notice,) = _drops(portal_server) - before
    text = notice.read_text(encoding="utf-8")
    assert "secure message" in text
    patients = portal_http.get(f"{practice.patient_url}/patients", headers=patient, timeout=10)
    me = next(p for p in patients.json() if p["patient_id"] == patient_id)
    for phi in (secret, me["first_name"], me["last_name"], practice.practice_name, "appointment"):
        assert phi not in text


def test_im_here_answers_with_the_arrival_chat(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    staff = staff_headers(portal_http, practice)
    patient_id = practice.patients[0].patient_ids[0]
    tap = portal_http.post(
        f"{practice.patient_url}/checkins",
        json={"patient_id": patient_id},
        headers=patient,
        timeout=10,
    )
    assert tap.status_code == 201
    thread_id = tap.json()["thread_id"]
    assert thread_id
    again = portal_http.post(
        f"{practice.patient_url}/checkins",
        json={"patient_id": patient_id},
        headers=patient,
        timeout=10,
    )
    assert again.json()["thread_id"] == thread_id
    chat = portal_http.get(
        f"{practice.patient_url}/threads/{thread_id}", headers=patient, timeout=10
    )
    assert chat.json()["topic"] == "arrival"
    assert chat.json()["messages"][0]["body"] == "I'm here."
    assert (
        staff_reply(
            portal_http, practice, staff, thread_id, body="Welcome! Have a seat."
        ).status_code
        == 201
    )
    page = portal_http.get(
        f"{practice.patient_url}/threads/{thread_id}/messages",
        params={"after": 1},
        headers=patient,
        timeout=10,
    ).json()
    assert [m["body"] for m in page["messages"]] == ["Welcome! Have a seat."]
    feed = _feed(portal_http, practice, staff)
    assert feed[-1]["data"]["checkin_id"] == tap.json()["id"]
    # Patients cannot begin an arrival chat by hand.
    refused = portal_http.post(
        f"{practice.patient_url}/threads",
        json={"patient_id": patient_id, "topic": "arrival", "body": "hi"},
        headers=patient,
        timeout=10,
    )
    assert refused.status_code == 422


def test_other_accounts_and_other_practices_get_404(
    portal_http: requests.Session,
    practice: PortalPractice,
    portal_server: RunningPortal,
    portal_database: Database,
) -> None:
    owner = patient_headers(portal_http, practice, 0)
    other = patient_headers(portal_http, practice, 1)
    thread = start_thread(portal_http, practice, owner, practice.patients[0].patient_ids[0])
    tid = thread["id"]
    url = f"{practice.patient_url}/threads/{tid}"
    assert portal_http.get(url, headers=other, timeout=10).status_code == 404
    assert portal_http.get(f"{url}/messages", headers=other, timeout=10).status_code == 404
    assert (
        portal_http.post(
            f"{url}/messages", json={"body": "x"}, headers=other, timeout=10
        ).status_code
        == 404
    )
    assert tid not in {
        t["id"]
        for t in portal_http.get(
            f"{practice.patient_url}/threads", headers=other, timeout=10
        ).json()
    }
    # Writing about a patient not linked to the account.
    stranger = next(p for p in practice.patient_ids if p not in practice.patients[0].patient_ids)
    refused = portal_http.post(
        f"{practice.patient_url}/threads",
        json={"patient_id": stranger, "topic": "other", "body": "hello"},
        headers=owner,
        timeout=10,
    )
    assert refused.status_code == 404
    elsewhere = make_practice(portal_database, portal_server)
    foreign_staff = staff_headers(portal_http, elsewhere)
    assert staff_reply(portal_http, elsewhere, foreign_staff, tid).status_code == 404
    for action in ("close", "read", "assign"):
        body = (
            {"up_to": 1}
            if action == "read"
            else ({"staff_id": None} if action == "assign" else None)
        )
        assert (
            staff_call(portal_http, elsewhere, foreign_staff, tid, action, body).status_code == 404
        )
