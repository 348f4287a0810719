"""Pytest plugin: a real portal over loopback TLS, and fresh practices inside it.

Fixtures:

- ``portal_server`` (session): a :class:`RunningPortal` on a temp data dir with fast argon2
  (SQLite there, or the database named by ``$VISITDESK_TEST_PORTAL_DATABASE_URL``).
- ``practice`` (function): a new practice in that portal (unique code), 50 synthetic patients,
  appointments today, one staff user per role and two patient accounts linked to patients with an
  appointment today. Returns :class:`PortalPractice`.
- ``portal_factory`` (function): start more portals (own data dir, optional fixed port, optional
  wrapped app); all are stopped at teardown.
- ``portal_http`` (function): a ``requests.Session`` trusting exactly the session portal's CA.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import select

from visitdesk.portal.demo.seed import (
    DemoCredentials,
    PatientCredential,
    StaffCredential,
    create_practice,
)
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models import Patient
from visitdesk.portal.web.app import create_app
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.server import RunningPortal, start_in_thread

#: argon2 parameters for tests only: the production defaults cost ~50 ms and 64 MiB per hash.
FAST_ARGON2: dict[str, int] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 8,
    "argon2_parallelism": 1,
}
TEST_SECRET = "test-secret-for-signing-access-tokens"
#: Set to run the session portal on another database (e.g. a scratch PostgreSQL database).
PORTAL_DATABASE_ENV = "VISITDESK_TEST_PORTAL_DATABASE_URL"


def fast_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def portal_test_config(data_dir: Path, **overrides: Any) -> PortalConfig:
    """A PortalConfig for tests: fast hashing and a known token secret."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        # Every test signs in from 127.0.0.1: one address's failures over all logins would
        # otherwise add up across the whole run (tests of that throttle set their own limit).
        "login_address_max_failures": 100_000,
        # The fake cards of the demo; tests of a portal without a processor set "none".
        "payment_gateway": "test",
        **FAST_ARGON2,
    }
    values.update(overrides)
    return PortalConfig(**values)


def http_session(ca_file: Path | str) -> requests.Session:
    """A requests session that trusts exactly ``ca_file`` and ignores proxy/CA env variables."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_file)
    return session


@dataclass(frozen=True)
class PortalPractice:
    """A practice created for one test inside a running portal."""

    base_url: str
    ca_file: Path
    practice_id: str
    practice_code: str
    practice_name: str
    #: Staff sign-ins by role value: "front_desk", "billing", "manager".
    staff: dict[str, StaffCredential]
    #: Patient-account sign-ins; each lists the patient ids linked to it.
    patients: list[PatientCredential]
    #: Every patient id of the practice, in MRN order.
    patient_ids: list[str]
    credentials: DemoCredentials = field(repr=False)

    @property
    def staff_url(self) -> str:
        return f"{self.base_url}/api/staff/v1"

    @property
    def patient_url(self) -> str:
        return f"{self.base_url}/api/patient/v1"


def make_practice(
    db: Database, portal: RunningPortal, *, patients: int = 50, accounts: int = 2
) -> PortalPractice:
    code = f"t{uuid.uuid4().hex[:12]}"
    creds = create_practice(
        db,
        code=code,
        name=f"Test Practice {code}",
        phone="(413) 555-0100",
        patients=patients,
        accounts=accounts,
        seed=code,
        hasher=fast_hasher(),
    )
    with db.read() as session:
        ids = list(
            session.scalars(
                select(Patient.id)
                .where(Patient.practice_id == creds.practice_id)
                .order_by(Patient.mrn)
            )
        )
    return PortalPractice(
        base_url=portal.base_url,
        ca_file=portal.ca_file,
        practice_id=creds.practice_id,
        practice_code=creds.practice_code,
        practice_name=creds.practice_name,
        staff={cred.role: cred for cred in creds.staff},
        patients=list(creds.patients),
        patient_ids=ids,
        credentials=creds,
    )


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortal]:
    # A long DB re-check interval: a prompt long-poll wake-up then proves the in-process notifier.
    config = portal_test_config(
        tmp_path_factory.mktemp("portal"),
        longpoll_recheck_seconds=5.0,
        database_url=os.environ.get(PORTAL_DATABASE_ENV) or None,
    )
    portal = start_in_thread(config)
    try:
        yield portal
    finally:
        portal.stop()


@pytest.fixture(scope="session")
def portal_database(portal_server: RunningPortal) -> Iterator[Database]:
    db = Database.from_url(portal_server.config.resolved_database_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def practice(portal_server: RunningPortal, portal_database: Database) -> PortalPractice:
    return make_practice(portal_database, portal_server)


@pytest.fixture
def portal_http(portal_server: RunningPortal) -> Iterator[requests.Session]:
    session = http_session(portal_server.ca_file)
    try:
        yield session
    finally:
        session.close()


class PortalFactory:
    """Starts extra portals for a test and stops them all at teardown."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self.running: list[RunningPortal] = []

    def start(
        self,
        *,
        data_dir: Path | None = None,
        port: int = 0,
        wrap: Callable[[Any], Any] | None = None,
        **config_overrides: Any,
    ) -> RunningPortal:
        """Start a portal; reuse ``data_dir`` and ``port`` to restart one where clients expect it.

        ``wrap`` receives the real FastAPI app and returns the ASGI app to serve (e.g. the app
        with a fault-injecting middleware).
        """
        config = portal_test_config(
            data_dir or self._tmp.mktemp("portal-extra"), **config_overrides
        )
        app: Any = create_app(config)
        if wrap is not None:
            app = wrap(app)
        portal = start_in_thread(app, port=port, config=config)
        self.running.append(portal)
        return portal

    def stop_all(self) -> None:
        while self.running:
            self.running.pop().stop()


@pytest.fixture
def portal_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalFactory]:
    factory = PortalFactory(tmp_path_factory)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[RunningPortal], Any]]:
    """``fault_proxy(portal)``: a started FaultProxy (tests/faultproxy.py) in front of a portal."""
    from tests.faultproxy import FaultProxy

    made: list[FaultProxy] = []

    def make(portal: RunningPortal) -> FaultProxy:
        proxy = FaultProxy(portal.port, portal.config.data_dir / "tls").start()
        made.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in made:
            proxy.stop()
