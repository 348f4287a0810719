"""The demo simulator's registration flows, over the patient API like a real app.

Now and then a simulated patient:

- registers by username with one of the demo's pre-issued security codes (then sets the three
  security questions), or links a child with a demo "link" code;
- registers by email and connects to the practice as a demo person with contact on file, reading
  the Safe Health Code back from the demo portal's file drop (email or text);
- registers by email and connects with details no record matches (a typo, a newcomer): the
  registration lands in the practice's queue for the desk.

Logs carry ids and outcomes only.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests

from visitdesk.portal.demo.seed import DemoCredentials, PatientCredential
from visitdesk.portal.demo.seed_registration import DemoCode, DemoPerson
from visitdesk.portal.web.notify import read_text_drop

log = logging.getLogger(__name__)

Send = Callable[..., requests.Response]
_SAFE_HEALTH = re.compile(r"Safe Health Code is (\d{6})")
_NEWCOMERS = (
    ("Imani", "Okonkwo-Reyes"),
    ("Tobias", "Vandermeer"),
    ("Saoirse", "Quinlan"),
    ("Ravi", "Subramanian"),
    ("Elif", "Yilmazer"),
)


def _password() -> str:
    return f"demo-{secrets.token_hex(6)}-pass"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def read_safe_health_code(
    mail_dir: Path, text_dir: Path, destination: str, channel: str
) -> str | None:
    """The newest Safe Health Code the demo portal dropped for ``destination``."""
    if channel == "email":
        for path in sorted(mail_dir.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if not isinstance(message, EmailMessage) or str(message["To"]) != destination:
                continue
            body = message.get_body(("plain",))
            found = _SAFE_HEALTH.search(str(body.get_content()) if body is not None else "")
            if found:
                return found.group(1)
        return None
    for path in sorted(text_dir.glob("*.txt"), reverse=True):
        text = read_text_drop(path)
        found = _SAFE_HEALTH.search(text.body)
        if text.to == destination and found:
            return found.group(1)
    return None


class RegistrationFlows:
    """One registration flow per :meth:`step`, using what the demo seed prepared."""

    def __init__(self, credentials: DemoCredentials, send: Send, rng: Any) -> None:
        self.practice_code = credentials.practice_code
        self.register_codes = [c for c in credentials.demo_codes if c.purpose == "register"]
        self.link_codes = [c for c in credentials.demo_codes if c.purpose == "link"]
        self.people: list[DemoPerson] = list(credentials.demo_people)
        self.mail_dir = Path(credentials.mail_drop_dir) if credentials.mail_drop_dir else None
        self.text_dir = Path(credentials.text_drop_dir) if credentials.text_drop_dir else None
        self.send = send
        self.rng = rng
        #: Accounts made here, signed in; the check-in simulator adopts them.
        self.new_accounts: list[PatientCredential] = []

    def step(self) -> str | None:
        """Run one flow; returns what happened (for the log), or None when nothing is left."""
        flows: list[Callable[[], str]] = [self._queued]
        if self.register_codes:
            flows.append(self._username)
        if self.link_codes and self.new_accounts:
            flows.append(self._link)
        if self.people and self.mail_dir is not None and self.text_dir is not None:
            flows.append(self._connect)
        return self.rng.choice(flows)()

    # ------------------------------------------------------------------ flows

    def _email_account(self, first: str, last: str) -> tuple[str, str, str] | None:
        address = f"{first[:1].lower()}.{uuid.uuid4().hex[:8]}@example.net"
        password = _password()
        body = {
            "first_name": first,
            "last_name": last,
            "email": address,
            "password": password,
            "accept_terms": True,
        }
        response = self.send("POST", "/accounts/email", json=body)
        if response.status_code != 202:
            return None
        signed_in = self.send("POST", "/sessions", json={"login": address, "password": password})
        if signed_in.status_code != 200:
            return None
        return address, password, str(signed_in.json()["access_token"])

    def _username(self) -> str:
        demo: DemoCode = self.register_codes.pop(0)
        password = _password()
        username = f"{demo.first_name[:1]}{demo.last_name}{self.rng.randint(10, 99)}".lower()
        username = re.sub(r"[^a-z0-9._-]", "", username)
        body = {
            "practice_code": self.practice_code,
            "username": username,
            "password": password,
            "first_name": demo.first_name,
            "last_name": demo.last_name,
            "security_code": demo.code,
            "email_choice": "proceed_without",
        }
        response = self.send("POST", "/accounts/username", json=body)
        if response.status_code != 201:
            return f"username registration refused (HTTP {response.status_code})"
        token = str(response.json()["access_token"])
        questions = self.send("GET", "/security-questions").json()
        picked = self.rng.sample([q["id"] for q in questions], 3)
        answers = [{"question_id": q, "answer": f"answer {secrets.token_hex(3)}"} for q in picked]
        self.send(
            "POST", "/account/security-questions", json={"answers": answers}, headers=_auth(token)
        )
        self.new_accounts.append(PatientCredential(username, password, [demo.patient_id]))
        return "registered by username with a security code"

    def _link(self) -> str:
        demo = self.link_codes.pop(0)
        account = self.rng.choice(self.new_accounts)
        signed_in = self.send(
            "POST", "/sessions", json={"login": account.login, "password": account.password}
        )
        if signed_in.status_code != 200:
            return f"sign-in refused (HTTP {signed_in.status_code})"
        response = self.send(
            "POST",
            "/links",
            json={"practice_code": self.practice_code, "security_code": demo.code},
            headers=_auth(str(signed_in.json()["access_token"])),
        )
        if response.status_code != 201:
            return f"link refused (HTTP {response.status_code})"
        account.patient_ids.append(demo.patient_id)
        return "linked a family member with a security code"

    def _connect(self) -> str:
        assert self.mail_dir is not None and self.text_dir is not None
        person = self.people.pop(0)
        account = self._email_account(person.first_name, person.last_name)
        if account is None:
            return "email registration refused"
        address, password, token = account
        channel = (
            "text" if person.phone and (not person.email or self.rng.random() < 0.4) else "email"
        )
        body = {
            "practice_code": self.practice_code,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "date_of_birth": person.date_of_birth,
            "channel": channel,
        }
        started = self.send("POST", "/connect", json=body, headers=_auth(token))
        result = started.json() if started.status_code == 200 else {}
        if result.get("outcome") != "code_sent":
            return f"connect gave {result.get('outcome', started.status_code)}"
        destination = person.email if result["channel"] == "email" else person.phone
        code = read_safe_health_code(self.mail_dir, self.text_dir, destination, result["channel"])
        if code is None:
            return "no Safe Health Code found in the demo outbox"
        verified = self.send(
            "POST",
            f"/connect/{result['connect_id']}/verify",
            json={"code": code},
            headers=_auth(token),
        )
        if verified.status_code != 201:
            return f"Safe Health Code refused (HTTP {verified.status_code})"
        patient_id = str(verified.json()["patient_id"])
        self.new_accounts.append(PatientCredential(address, password, [patient_id]))
        return f"connected by Safe Health Code ({result['channel']})"

    def _queued(self) -> str:
        if self.people and self.rng.random() < 0.5:
            # A real patient who mistypes their surname: the desk will find the record.
            person = self.people.pop(0)
            first, last = person.first_name, person.last_name[:-1] + "e" + person.last_name[-1:]
            born = person.date_of_birth
        else:
            first, last = self.rng.choice(_NEWCOMERS)
            born = (date(1950, 1, 1) + timedelta(days=self.rng.randint(0, 20000))).isoformat()
        account = self._email_account(first, last)
        if account is None:
            return "email registration refused"
        token = account[2]
        body = {
            "practice_code": self.practice_code,
            "first_name": first,
            "last_name": last,
            "date_of_birth": born,
        }
        started = self.send("POST", "/connect", json=body, headers=_auth(token))
        outcome = started.json().get("outcome") if started.status_code == 200 else None
        return f"connect request {outcome or started.status_code}"
