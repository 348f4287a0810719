"""The demo's patient simulator: demo patients tapping "I'm Here" over the patient API (and chatting
after it), writing to the office and answering its replies (see
:mod:`visitdesk.portal.demo.simulator_messages`), now and then registering and connecting (see
:mod:`visitdesk.portal.demo.simulator_registration`), and at first a few myInfo changes (see
:mod:`visitdesk.portal.demo.simulator_myinfo`).

It signs in the seeded demo accounts and, every few seconds, checks in one linked patient who has
a scheduled appointment today and has not checked in yet. It logs ids only (no PHI), rides out the
portal being briefly unavailable, and stops when ``stop`` is set.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from visitdesk.api.wire import PATIENT_PREFIX, CheckInOut, PatientAppointment, PatientSession
from visitdesk.portal.demo import simulator_myinfo
from visitdesk.portal.demo.seed import DemoCredentials, PatientCredential
from visitdesk.portal.demo.simulator_messages import MessageChats
from visitdesk.portal.demo.simulator_registration import RegistrationFlows

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0
MAX_BACKOFF = 30.0


class PortalUnavailable(Exception):
    """The portal could not be reached or answered with a server error."""


@dataclass
class _Account:
    credential: PatientCredential
    token: str | None = None
    #: Appointments already handled (checked in, or refused as not today).
    done: set[str] = field(default_factory=set)


class PatientSimulator:
    def __init__(
        self,
        base_url: str,
        ca_file: Path | str,
        credentials: DemoCredentials,
        *,
        seed: int | None = None,
        registration_share: float = 0.25,
        myinfo_changes: int = 3,
        message_share: float = 0.3,
    ) -> None:
        self.base_url = base_url.rstrip("/") + PATIENT_PREFIX
        self.http = requests.Session()
        # Trust exactly the portal's CA; never let REQUESTS_CA_BUNDLE or proxies override it.
        self.http.trust_env = False
        self.http.verify = str(ca_file)
        self.accounts = [_Account(cred) for cred in credentials.patients]
        self.rng = random.Random(seed)
        #: Share of rounds that also run a registration flow (see simulator_registration).
        self.registration_share = registration_share
        self.registrations = RegistrationFlows(credentials, self._send, self.rng)
        #: myInfo changes still to send (one per round until none are left).
        self.myinfo_left = myinfo_changes
        self._myinfo_sent = 0
        #: Share of rounds in which a patient writes a new message to the office.
        self.message_share = message_share
        self.chats = MessageChats(self.rng)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ HTTP

    def _call(self, account: _Account, method: str, path: str, **kwargs: Any) -> requests.Response:
        for attempt in range(2):
            if account.token is None:
                self._sign_in(account)
            headers = {"Authorization": f"Bearer {account.token}", **kwargs.pop("headers", {})}
            response = self._send(method, path, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 0:
                account.token = None
                continue
            return response
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.http.request(
                method, self.base_url + path, timeout=REQUEST_TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise PortalUnavailable(type(exc).__name__) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise PortalUnavailable(f"HTTP {response.status_code}")
        return response

    def _sign_in(self, account: _Account) -> None:
        response = self._send(
            "POST",
            "/sessions",
            json={"login": account.credential.login, "password": account.credential.password},
        )
        if response.status_code != 200:
            raise PortalUnavailable(f"sign-in refused: HTTP {response.status_code}")
        account.token = PatientSession.model_validate_json(response.content).access_token

    # ------------------------------------------------------------------ behaviour

    def registration_step(self) -> str | None:
        """Run one registration flow; accounts it creates start tapping I'm Here too."""
        outcome = self.registrations.step()
        adopted = {account.credential.login for account in self.accounts}
        for credential in self.registrations.new_accounts:
            if credential.login not in adopted:
                self.accounts.append(_Account(credential))
        log.info("registration flow: %s", outcome)
        return outcome

    def myinfo_step(self) -> str | None:
        """Send the next myInfo change, for the next account's first patient."""
        accounts = [a for a in self.accounts if a.credential.patient_ids]
        if not accounts:
            return None
        number = self._myinfo_sent
        account = accounts[number % len(accounts)]

        def call(method: str, path: str, **kwargs: Any) -> requests.Response:
            return self._call(account, method, path, **kwargs)

        change_id = simulator_myinfo.send_change(call, account.credential.patient_ids[0], number)
        self._myinfo_sent += 1
        self.myinfo_left -= 1
        return change_id

    def message_step(self) -> int:
        """Answer the office's unread replies on every account, and sometimes write a new
        message; returns how many messages were written."""
        written = 0
        for account in self.accounts:
            written += self.chats.answer_replies(self._caller(account))
        if self.accounts and self.rng.random() < self.message_share:
            account = self.rng.choice(self.accounts)
            if account.credential.patient_ids:
                patient_id = self.rng.choice(account.credential.patient_ids)
                written += self.chats.write(self._caller(account), patient_id) is not None
        return written

    def _caller(self, account: _Account) -> Any:
        return lambda method, path, **kwargs: self._call(account, method, path, **kwargs)

    def step(self) -> CheckInOut | None:
        """Try one I'm Here tap; returns the new check-in, or None when nobody is left today."""
        accounts = list(self.accounts)
        self.rng.shuffle(accounts)
        now = datetime.now(UTC)
        for account in accounts:
            response = self._call(account, "GET", "/appointments")
            if response.status_code != 200:
                continue
            appointments = [PatientAppointment.model_validate(item) for item in response.json()]
            # Like a patient walking in: tap only once the app says I'm Here is open for the
            # appointment (the portal still decides; a refusal marks it done).
            candidates = [
                appt
                for appt in appointments
                if appt.status == "scheduled"
                and appt.id not in account.done
                and appt.starts_at < now + timedelta(hours=24)
                and (appt.check_in_opens_at is None or appt.check_in_opens_at <= now)
                and (appt.check_in_closes_at is None or now <= appt.check_in_closes_at)
            ]
            for appt in candidates:
                response = self._call(
                    account,
                    "POST",
                    "/checkins",
                    json={"patient_id": appt.patient_id, "appointment_id": appt.id},
                    headers={"Idempotency-Key": f"sim-{appt.id}-{now.date().isoformat()}"},
                )
                account.done.add(appt.id)
                if response.status_code == 201:
                    checkin = CheckInOut.model_validate_json(response.content)
                    log.info("checked in: appointment %s check-in %s", appt.id, checkin.id)
                    self.chats.chat_after_arrival(self._caller(account), checkin.thread_id)
                    return checkin
                log.debug("appointment %s skipped: HTTP %s", appt.id, response.status_code)
        return None

    def run(
        self,
        stop: threading.Event,
        interval: float = 5.0,
        max_events: int | None = None,
    ) -> int:
        """Tap every ``interval`` seconds until ``stop`` is set or ``max_events`` taps are made."""
        events = 0
        backoff = min(1.0, interval)
        while not stop.is_set():
            try:
                if self.rng.random() < self.registration_share:
                    self.registration_step()
                if self.myinfo_left > 0:
                    self.myinfo_step()
                self.message_step()
                checkin = self.step()
            except PortalUnavailable as exc:
                log.warning("portal unavailable (%s); retrying in %.1f s", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = min(1.0, interval)
            if checkin is not None:
                events += 1
                if max_events is not None and events >= max_events:
                    break
            else:
                log.info("nobody left to check in today")
            stop.wait(interval)
        return events
