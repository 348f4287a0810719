"""The demo patient simulator against a real portal."""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.fixtures_portal import PortalFactory, PortalPractice, make_practice
from tests.portal.helpers import staff_headers, wait_until
from visitdesk.portal.demo.simulator import PatientSimulator
from visitdesk.portal.persistence.db import Database


def _checkins(http: requests.Session, practice: PortalPractice) -> list[dict[str, Any]]:
    items = http.get(
        f"{practice.staff_url}/changes",
        params={"limit": 5000},
        headers=staff_headers(http, practice),
        timeout=10,
    ).json()["items"]
    return [item for item in items if item["kind"] == "checkin"]


def test_simulator_checks_in_linked_patients_with_appointments_today(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    simulator = PatientSimulator(practice.base_url, practice.ca_file, practice.credentials, seed=1)
    try:
        events = simulator.run(threading.Event(), interval=0.01, max_events=3)
    finally:
        simulator.close()
    assert events == 3
    checkins = _checkins(portal_http, practice)
    linked = {pid for cred in practice.patients for pid in cred.patient_ids}
    assert len(checkins) == 3
    assert {c["data"]["patient_id"] for c in checkins} <= linked
    assert len({c["data"]["patient_id"] for c in checkins}) == 3  # nobody twice
    assert all(c["data"]["appointment_id"] for c in checkins)


def test_simulator_survives_the_portal_being_down(portal_factory: PortalFactory) -> None:
    portal = portal_factory.start()
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=30, accounts=2)
    finally:
        db.dispose()
    data_dir, port = portal.config.data_dir, portal.port
    portal.stop()

    simulator = PatientSimulator(practice.base_url, practice.ca_file, practice.credentials, seed=2)
    stop = threading.Event()
    result: dict[str, int] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("events", simulator.run(stop, interval=0.01, max_events=2))
    )
    worker.start()
    try:
        threading.Event().wait(0.5)  # the simulator meets a closed port meanwhile
        assert worker.is_alive()
        portal_factory.start(data_dir=data_dir, port=port)
        assert wait_until(lambda: not worker.is_alive(), timeout=20)
    finally:
        stop.set()
        worker.join(10)
        simulator.close()
    assert result["events"] == 2


def test_simulator_sends_a_few_myinfo_changes(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    simulator = PatientSimulator(
        practice.base_url, practice.ca_file, practice.credentials, seed=3, myinfo_changes=3
    )
    try:
        simulator.run(threading.Event(), interval=0.01, max_events=3)
    finally:
        simulator.close()
    waiting = portal_http.get(
        f"{practice.staff_url}/demographic-changes",
        headers=staff_headers(portal_http, practice),
        timeout=10,
    ).json()
    assert len(waiting) == 3
    fields = {f["field"] for change in waiting for f in change["fields"]}
    assert {"address_line1", "phone", "insurance_payer", "insurance_card_front"} <= fields


def test_simulator_writes_answers_replies_and_chats_after_arriving(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    from tests.portal.messages_api import staff_reply

    staff = staff_headers(portal_http, practice)
    simulator = PatientSimulator(
        practice.base_url, practice.ca_file, practice.credentials, seed=3, message_share=1.0
    )
    try:
        assert simulator.message_step() == 1
        checkin = simulator.step()
        assert checkin is not None
        items = portal_http.get(
            f"{practice.staff_url}/changes", params={"limit": 5000}, headers=staff, timeout=10
        ).json()["items"]
        messages = [i["data"] for i in items if i["kind"] == "thread_message"]
        arrival = [m for m in messages if m["thread_id"] == checkin.thread_id]
        assert [m["number"] for m in arrival] == [1, 2]  # "I'm here." and a chat line
        written = next(m for m in messages if m["thread_id"] != checkin.thread_id)
        assert staff_reply(portal_http, practice, staff, written["thread_id"]).status_code == 201
        simulator.message_share = 0.0
        assert simulator.message_step() == 1  # answered the reply
    finally:
        simulator.close()
