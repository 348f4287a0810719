"""The demo simulator's registration flows, against a demo-seeded practice whose portal drops
email and text messages as files (as the demo does)."""

from __future__ import annotations

import dataclasses
import random
import uuid

import requests

from tests.fixtures_portal import TEST_SECRET, fast_hasher
from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.demo.seed import DemoCredentials, create_practice
from visitdesk.portal.demo.simulator import PatientSimulator
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.server import RunningPortal


def _demo_practice(portal: RunningPortal, db: Database) -> DemoCredentials:
    code = f"s{uuid.uuid4().hex[:12]}"
    creds = create_practice(
        db,
        code=code,
        name=f"Sim Practice {code}",
        patients=120,
        accounts=3,
        seed=code,
        hasher=fast_hasher(),
        code_hasher=CodeHasher(TEST_SECRET.encode()),
    )
    return dataclasses.replace(
        creds,
        mail_drop_dir=str(portal.config.resolved_mail_drop_dir),
        text_drop_dir=str(portal.config.resolved_text_drop_dir),
    )


def test_demo_seed_writes_codes_and_people_to_the_credentials(
    portal_server: RunningPortal, portal_database: Database
) -> None:
    creds = _demo_practice(portal_server, portal_database)
    purposes = [c.purpose for c in creds.demo_codes]
    assert purposes.count("register") >= 4 and purposes.count("link") >= 1
    assert all(len(c.code) == 14 for c in creds.demo_codes)
    assert creds.demo_people and all(p.email or p.phone for p in creds.demo_people)
    again = DemoCredentials.from_dict(creds.to_dict())
    assert again == creds


def test_simulator_registers_connects_links_and_queues(
    portal_server: RunningPortal, portal_database: Database, portal_http: requests.Session
) -> None:
    creds = _demo_practice(portal_server, portal_database)
    simulator = PatientSimulator(portal_server.base_url, portal_server.ca_file, creds, seed=3)
    flows = simulator.registrations
    try:
        assert flows._username() == "registered by username with a security code"
        assert flows._link() == "linked a family member with a security code"
        outcomes = {flows._connect() for _ in range(3)}
        assert outcomes <= {
            "connected by Safe Health Code (email)",
            "connected by Safe Health Code (text)",
        }
        flows.rng = random.Random(1)
        assert flows._queued() == "connect request queued"
        simulator.registration_step()
        assert len(simulator.accounts) > len(creds.patients)
    finally:
        simulator.close()

    base = f"{portal_server.base_url}/api/staff/v1"
    desk = creds.staff_by_role("front_desk")
    tokens = portal_http.post(
        f"{base}/sessions",
        json={
            "practice": creds.practice_code,
            "username": desk.username,
            "password": desk.password,
        },
        timeout=10,
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    codes = portal_http.get(f"{base}/security-codes", headers=headers, timeout=10).json()
    assert sum(1 for c in codes if c["status"] == "used") >= 2
    items = portal_http.get(
        f"{base}/changes", params={"limit": 5000}, headers=headers, timeout=10
    ).json()["items"]
    assert any(item["kind"] == "registration" for item in items)
