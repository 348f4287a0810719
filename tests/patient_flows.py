"""Walking the registration flows in tests: a portal that mails through a real SMTP server on
loopback (aiosmtpd), its text-message drop, and helpers acting as staff and as patients.

Fixtures (re-exported by ``tests/portal/conftest.py``):

- ``mailbox`` (session): an aiosmtpd server on 127.0.0.1 collecting every message it receives.
- ``flows_portal`` (session): a portal over TLS sending email to ``mailbox`` over SMTP.
- ``flows`` (function): a fresh practice in ``flows_portal`` plus a :class:`Flows` helper.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.fixtures_portal import (
    PortalPractice,
    http_session,
    make_practice,
    portal_test_config,
)
from tests.portal.helpers import idem, wait_until
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models import Patient
from visitdesk.portal.web.notify import TextMessage, read_text_drop
from visitdesk.portal.web.server import RunningPortal, start_in_thread

STRONG_PASSWORD = "plum-harbor-violin-42"


class Mailbox:
    """An SMTP server on loopback that keeps what it receives, for tests to read back."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if str(m["To"]).casefold() == address.casefold()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        assert wait_until(lambda: len(self.to(address)) >= count, timeout), (
            f"no email for {address}"
        )
        return self.to(address)


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def safe_health_code_in(text: str) -> str:
    found = re.search(r"Safe Health Code is (\d{6})", text)
    assert found, "no Safe Health Code in the message"
    return found.group(1)


@dataclass
class Flows:
    """One fresh practice in the flows portal, and calls as its staff and as patients."""

    practice: PortalPractice
    portal: RunningPortal
    db: Database
    mailbox: Mailbox
    http: requests.Session = field(init=False)
    _staff_tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = http_session(self.practice.ca_file)

    # ------------------------------------------------------------------ staff

    def staff(self, role: str = "front_desk") -> dict[str, str]:
        if role not in self._staff_tokens:
            cred = self.practice.staff[role]
            response = self.http.post(
                f"{self.practice.staff_url}/sessions",
                json={
                    "practice": self.practice.practice_code,
                    "username": cred.username,
                    "password": cred.password,
                },
                timeout=10,
            )
            assert response.status_code == 200, response.text
            self._staff_tokens[role] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._staff_tokens[role]}"}

    def add_patient(
        self,
        first: str,
        last: str,
        dob: str,
        *,
        email: str = "",
        phone: str = "",
        postal_code: str = "",
    ) -> str:
        """Upsert one record through the staff API; returns its id."""
        mrn = f"F{uuid.uuid4().hex[:10]}"
        record = {
            "mrn": mrn,
            "first_name": first,
            "last_name": last,
            "date_of_birth": dob,
            "email": email,
            "phone": phone,
            "postal_code": postal_code,
        }
        response = self.http.put(
            f"{self.practice.staff_url}/patients",
            json={"patients": [record]},
            headers={**self.staff(), **idem()},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        with self.db.read() as session:
            patient_id = session.scalar(
                select(Patient.id).where(
                    Patient.practice_id == self.practice.practice_id, Patient.mrn == mrn
                )
            )
        assert patient_id is not None
        return patient_id

    def issue_code(
        self, patient_id: str, purpose: str = "register", role: str = "front_desk", **extra: Any
    ) -> requests.Response:
        return self.http.post(
            f"{self.practice.staff_url}/security-codes",
            json={"patient_id": patient_id, "purpose": purpose, **extra},
            headers={**self.staff(role), **idem()},
            timeout=10,
        )

    def issued_code(
        self, patient_id: str, purpose: str = "register", **extra: Any
    ) -> dict[str, Any]:
        response = self.issue_code(patient_id, purpose, **extra)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def codes(self, **params: str) -> list[dict[str, Any]]:
        response = self.http.get(
            f"{self.practice.staff_url}/security-codes",
            params=params,
            headers=self.staff(),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()
        return result

    def code(self, code_id: str) -> dict[str, Any]:
        return next(c for c in self.codes() if c["id"] == code_id)

    def feed(self, kind: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.http.get(
                f"{self.practice.staff_url}/changes",
                params={"after": after, "limit": 5000},
                headers=self.staff(),
                timeout=10,
            ).json()
            items += page["items"]
            after = page["last_seq"]
            if not page["more"]:
                break
        return [item for item in items if kind is None or item["kind"] == kind]

    # ------------------------------------------------------------------ patients

    @property
    def patient_url(self) -> str:
        return self.practice.patient_url

    def post(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        return self.http.post(
            f"{self.patient_url}{path}", json=body, headers=headers or {}, timeout=10
        )

    def delete(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        return self.http.delete(f"{self.patient_url}{path}", headers=headers or {}, timeout=10)

    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        return self.http.get(f"{self.patient_url}{path}", headers=headers or {}, timeout=10)

    def sign_in(self, login: str, password: str = STRONG_PASSWORD) -> dict[str, str]:
        response = self.post("/sessions", {"login": login, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def register_email(
        self, first: str, last: str, address: str, password: str = STRONG_PASSWORD, **extra: Any
    ) -> requests.Response:
        body = {
            "first_name": first,
            "last_name": last,
            "email": address,
            "password": password,
            "accept_terms": True,
            **extra,
        }
        return self.post("/accounts/email", body)

    def email_account(
        self, first: str = "Robin", last: str = "Ashdown"
    ) -> tuple[str, dict[str, str]]:
        """A new email account, signed in; returns (email, auth headers)."""
        address = f"{uuid.uuid4().hex[:12]}@example.org"
        response = self.register_email(first, last, address)
        assert response.status_code == 202, response.text
        return address, self.sign_in(address)

    def register_username(
        self, code: str, first: str, last: str, username: str | None = None, **extra: Any
    ) -> requests.Response:
        body: dict[str, Any] = {
            "practice_code": self.practice.practice_code,
            "username": username or f"u{uuid.uuid4().hex[:10]}",
            "password": STRONG_PASSWORD,
            "first_name": first,
            "last_name": last,
            "security_code": code,
            **extra,
        }
        if "email" not in body and "email_choice" not in body:
            body["email_choice"] = "proceed_without"
        return self.post("/accounts/username", body)

    def set_security_questions(self, headers: dict[str, str]) -> None:
        """Answer three questions (a username account's dashboard waits for them)."""
        answers = [
            {"question_id": qid, "answer": answer}
            for qid, answer in (("q01", "Biscuit"), ("q05", "Volvo"), ("q09", "Blondie"))
        ]
        response = self.post("/account/security-questions", {"answers": answers}, headers)
        assert response.status_code == 201, response.text

    def connect(
        self, headers: dict[str, str], first: str, last: str, dob: str, **extra: Any
    ) -> requests.Response:
        body = {
            "practice_code": self.practice.practice_code,
            "first_name": first,
            "last_name": last,
            "date_of_birth": dob,
            **extra,
        }
        return self.post("/connect", body, headers)

    def texts_to(self, number: str) -> list[TextMessage]:
        drop = Path(self.portal.config.resolved_text_drop_dir)
        if not drop.exists():
            return []
        messages = [read_text_drop(path) for path in sorted(drop.glob("*.txt"))]
        return [m for m in messages if m.to == number]

    def wait_for_text(self, number: str, count: int = 1) -> list[TextMessage]:
        assert wait_until(lambda: len(self.texts_to(number)) >= count), f"no text to {number}"
        return self.texts_to(number)

    def patient_record(self, patient_id: str) -> Patient:
        with self.db.read() as session:
            row = session.get(Patient, patient_id)
        assert row is not None
        return row


def iso(day: date) -> str:
    return day.isoformat()


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


@pytest.fixture(scope="session")
def flows_portal(
    tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[RunningPortal]:
    config = portal_test_config(
        tmp_path_factory.mktemp("flows-portal"),
        mail_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_security="none",
    )
    portal = start_in_thread(config)
    try:
        yield portal
    finally:
        portal.stop()


@pytest.fixture(scope="session")
def flows_database(flows_portal: RunningPortal) -> Iterator[Database]:
    db = Database.from_url(flows_portal.config.resolved_database_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def flows(
    flows_portal: RunningPortal, flows_database: Database, mailbox: Mailbox
) -> Iterator[Flows]:
    practice = make_practice(flows_database, flows_portal, patients=30, accounts=2)
    helper = Flows(practice, flows_portal, flows_database, mailbox)
    try:
        yield helper
    finally:
        helper.http.close()
