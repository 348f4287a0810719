"""Randomized fault run: two desks change the same check-ins while things break, then must agree.

    python bench/faults.py [--rounds 6] [--seed 15]

The real portal runs as a process over loopback TLS; two desks (bench/faults_desk.py) run as
processes too, each with its own SQLite store and sync engine, and reach the portal through the
fault-injecting proxy of tests/faultproxy.py. Each round two patients tap I'm Here; desk A
acknowledges both check-ins while desk B rooms one and cancels the other, in a random order with
random pauses, while one class of fault strikes at a random moment:

- portal killed (SIGKILL) and restarted on the same port;
- desk A killed (SIGKILL) while acting or pushing, and started again on its store;
- the proxy losing answers after the portal acted, holding them past the desk's read timeout,
  resetting connections before the portal sees them, or answering 5xx/429;
- desk A's disk full or read-only for a while, just after it acted;
- no fault: the two desks only race on the same rows.

Then every fault is healed and the run waits until both desks have sent everything and read the
feed to its end. Per class it prints: rounds, actions (status changes a desk confirmed as saved),
lost (confirmed but never applied by the portal), duplicated (applied more than once), desks whose
board differs from the portal, and recovery time (healing to both desks settled, median and max).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select as sql_select  # noqa: E402

from tests.faultproxy import Fault, FaultProxy  # noqa: E402
from tests.fixtures_portal import FAST_ARGON2, fast_hasher, http_session  # noqa: E402
from visitdesk.api.wire import PATIENT_PREFIX  # noqa: E402
from visitdesk.portal.demo.seed import DemoCredentials, PatientCredential, create_practice  # noqa: E402
from visitdesk.portal.persistence.db import Database  # noqa: E402
from visitdesk.portal.persistence.models import AccountLink, Patient  # noqa: E402
from visitdesk.portal.web.config import PortalConfig  # noqa: E402
from visitdesk.sync.client import PortalClient  # noqa: E402
from visitdesk.sync.credentials import MemoryTokenStore  # noqa: E402
from visitdesk.sync.errors import PortalError  # noqa: E402

CLASSES = (
    "portal killed",
    "desk killed",
    "answer lost",
    "answer late",
    "connection reset",
    "5xx / 429",
    "disk full",
    "disk read-only",
    "same rows, no fault",
)
STATUS_PATH = r"/checkins/[^/]+/status$"
SETTLE_TIMEOUT = 90.0
READ_TIMEOUT = 2.0


@dataclass
class Tally:
    rounds: int = 0
    actions: int = 0
    refused_at_once: int = 0
    lost: int = 0
    duplicated: int = 0
    differing: int = 0
    recovery: list[float] = field(default_factory=list)


class Portal:
    """The portal as a process; kill() and start() keep its data and port."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ready = self.data / f"ready-{uuid.uuid4().hex[:6]}.json"
        command = [sys.executable, "-m", "visitdesk.portal", "--log-level", "WARNING", "serve"]
        command += ["--port", str(self.port), "--data-dir", str(self.data)]
        command += ["--ready-file", str(ready)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the portal did not start")
            time.sleep(0.05)
        self.port = int(json.loads(ready.read_text())["port"])

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


class Desk:
    """A desk process and its pipe; `kill()` then `start()` is a crash and a restart."""

    def __init__(self, name: str, store: Path, url: str, ca: Path, creds: Any, seed: int) -> None:
        self.name, self.store, self.url, self.ca = name, store, url, ca
        self.creds, self.seed = creds, seed
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        command = [sys.executable, str(ROOT / "bench" / "faults_desk.py")]
        command += ["--store", str(self.store), "--url", self.url, "--ca-file", str(self.ca)]
        command += ["--practice", self.creds[0], "--username", self.creds[1]]
        command += ["--read-timeout", str(READ_TIMEOUT), "--seed", str(self.seed)]
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(self.creds[2] + "\n")
        self.proc.stdin.flush()
        if self._read(120) != {"ready": True}:
            raise RuntimeError(f"desk {self.name} did not start")

    def ask(self, command: dict[str, Any], timeout: float = 30) -> dict[str, Any] | None:
        """Send one command; None when the desk died before answering."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        except OSError:
            return None
        return self._read(timeout)

    def _read(self, timeout: float) -> dict[str, Any] | None:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


def seed_portal(data: Path, taps: int) -> tuple[DemoCredentials, PatientCredential]:
    """The practice, and one patient account that may tap I'm Here for `taps` patients (a care
    home's account, say): the portal allows one check-in per patient and day."""
    data.mkdir(parents=True, exist_ok=True)
    config = PortalConfig(data_dir=data, **FAST_ARGON2)
    db = Database.from_url(config.resolved_database_url)
    try:
        db.migrate_schema()
        creds = create_practice(
            db,
            code="faults",
            name="Fault Run Practice",
            patients=taps + 20,
            accounts=2,
            seed="faults",
            hasher=fast_hasher(),
        )
        holder = creds.patients[0]
        with db.write() as session:
            account_id = session.scalar(
                sql_select(AccountLink.account_id).where(
                    AccountLink.patient_id == holder.patient_ids[0]
                )
            )
            linked = set(session.scalars(sql_select(AccountLink.patient_id)))
            others = session.scalars(
                sql_select(Patient.id)
                .where(Patient.practice_id == creds.practice_id, Patient.id.not_in(linked))
                .order_by(Patient.mrn)
                .limit(taps)
            ).all()
            session.execute(
                insert(AccountLink),
                [
                    {
                        "account_id": account_id,
                        "patient_id": patient_id,
                        "practice_id": creds.practice_id,
                        "relationship": "child",
                    }
                    for patient_id in others
                ],
            )
        return creds, PatientCredential(holder.login, holder.password, list(others))
    finally:
        db.dispose()


def tap(base_url: str, ca: Path, login: str, password: str, patient_id: str) -> str:
    """A patient taps I'm Here (straight to the portal, before the round's fault)."""
    with http_session(ca) as http:
        url = base_url + PATIENT_PREFIX
        resp = http.post(f"{url}/sessions", json={"login": login, "password": password}, timeout=10)
        resp.raise_for_status()
        headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        headers["Idempotency-Key"] = str(uuid.uuid4())
        resp = http.post(
            f"{url}/checkins", json={"patient_id": patient_id}, headers=headers, timeout=10
        )
        resp.raise_for_status()
        return str(resp.json()["id"])


def portal_truth(observer: PortalClient, ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Every feed item of the given check-ins, in order: the portal's history of each."""
    history: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    after = 0
    while True:
        page = observer.get_changes(after, 5000, 0)
        for item in page.items:
            if item.kind == "checkin" and item.id in history:
                history[item.id].append(item.data)
        after = page.last_seq
        if not page.more:
            return history


def portal_last_seq(observer: PortalClient) -> int:
    after = 0
    while True:
        page = observer.get_changes(after, 5000, 0)
        after = page.last_seq
        if not page.more:
            return after


def settle(desks: list[Desk], observer: PortalClient, ids: list[str]) -> dict[str, Any] | None:
    """Wait until every desk has sent everything and read the feed to its end: the portal's
    position is the same before and after the desks are asked, so no push slipped in between."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        try:
            before = portal_last_seq(observer)
            states = {d.name: d.ask({"op": "state", "checkins": ids}) for d in desks}
            after = portal_last_seq(observer)
        except PortalError:
            time.sleep(0.1)
            continue
        if before == after and all(
            s is not None and s["pending"] == 0 and s["last_seq"] >= after for s in states.values()
        ):
            return states
        time.sleep(0.1)
    return None


class Run:
    def __init__(self, root: Path, rounds: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rounds = rounds
        self.portal = Portal(root / "portal")
        self.creds, self.tapper = seed_portal(self.portal.data, taps=rounds * len(CLASSES) * 2)
        self.portal.start()
        self.ca = self.portal.data / "tls" / "ca.pem"
        self.direct = f"https://127.0.0.1:{self.portal.port}"
        self.proxy = FaultProxy(self.portal.port, self.portal.data / "tls").start()
        staff = {c.role: c for c in self.creds.staff}
        code = self.creds.practice_code
        a = (code, staff["front_desk"].username, staff["front_desk"].password)
        b = (code, staff["manager"].username, staff["manager"].password)
        self.names = {"A": staff["front_desk"].name, "B": staff["manager"].name}
        url = self.proxy.base_url
        self.desk_a = Desk("A", root / "a" / "visitdesk.sqlite3", url, self.ca, a, seed + 1)
        self.desk_b = Desk("B", root / "b" / "visitdesk.sqlite3", url, self.ca, b, seed + 2)
        self.desk_a.start()
        self.desk_b.start()
        self.observer = PortalClient(
            self.direct, ca_file=self.ca, token_store=MemoryTokenStore(), timeout=(2.0, 10.0)
        )
        billing = staff["billing"]
        self.observer.sign_in(code, billing.username, billing.password)
        self.tap_for = list(self.tapper.patient_ids)
        self.all_ids: list[str] = []
        #: (desk, check-in, status) of every action a desk confirmed as saved.
        self.confirmed: list[tuple[str, str, str]] = []
        self.tallies = {name: Tally() for name in CLASSES}
        self.tally_of: dict[tuple[str, str, str], Tally] = {}
        self.failed_seen: dict[str, int] = {}

    def close(self) -> None:
        self.desk_a.stop()
        self.desk_b.stop()
        self.proxy.stop()
        self.observer.close()
        self.portal.stop()

    # ------------------------------------------------------------------ one round

    def round(self, fault: str) -> None:
        tally = self.tallies[fault]
        tally.rounds += 1
        ids = []
        for _ in range(2):
            patient_id = self.tap_for.pop()
            ids.append(
                tap(self.direct, self.ca, self.tapper.login, self.tapper.password, patient_id)
            )
        self.all_ids += ids
        self._wait_until_both_see(ids)
        plan = [("A", ids[0], "acknowledged"), ("A", ids[1], "acknowledged")]
        plan += [("B", ids[0], "roomed"), ("B", ids[1], "cancelled")]
        self.rng.shuffle(plan)
        strike_at = self.rng.randrange(len(plan) + 1)
        healers: list[Any] = []
        for step, (desk, checkin_id, status) in enumerate(plan):
            if step == strike_at:
                healers.append(self._strike(fault))
            self._act(desk, checkin_id, status, tally)
            time.sleep(self.rng.uniform(0, 0.3))
        if strike_at == len(plan):
            healers.append(self._strike(fault))
        time.sleep(self.rng.uniform(0.2, 1.0))  # the fault lasts a while
        for heal in healers:
            heal()
        healed = time.monotonic()
        states = settle([self.desk_a, self.desk_b], self.observer, self.all_ids)
        if states is None:
            raise RuntimeError(f"the desks did not settle after '{fault}'")
        tally.recovery.append(time.monotonic() - healed)
        truth = portal_truth(self.observer, set(self.all_ids))
        for desk, state in states.items():
            shown = state["checkins"]
            if any(shown[i] != truth[i][-1]["status"] for i in self.all_ids):
                tally.differing += 1
            # Nothing here is refused on purpose: a change parked as refused is lost.
            tally.lost += state["failed"] - self.failed_seen.get(desk, 0)
            self.failed_seen[desk] = state["failed"]

    def _wait_until_both_see(self, ids: list[str]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = [d.ask({"op": "state", "checkins": ids}) for d in (self.desk_a, self.desk_b)]
            if all(s and all(s["checkins"].values()) for s in states):
                return
            time.sleep(0.05)
        raise RuntimeError("the desks did not receive the round's check-ins")

    def _act(self, desk: str, checkin_id: str, status: str, tally: Tally) -> None:
        target = self.desk_a if desk == "A" else self.desk_b
        if target.proc is None:
            return  # desk A is down in this round; its user cannot act
        answer = target.ask({"op": "status", "checkin": checkin_id, "status": status})
        if answer is not None and not answer.get("ok"):
            tally.refused_at_once += 1  # the store could not save it; the desk said so at once
        elif answer is not None:
            tally.actions += 1
            self.confirmed.append((desk, checkin_id, status))
            self.tally_of[(desk, checkin_id, status)] = tally

    def _strike(self, fault: str) -> Any:
        rng, proxy = self.rng, self.proxy
        if fault == "portal killed":
            self.portal.kill()
            return self.portal.start
        if fault == "desk killed":
            self.desk_a.kill()
            return self.desk_a.start
        if fault in ("disk full", "disk read-only"):
            key = "full" if fault == "disk full" else "read_only"
            self.desk_a.ask({"op": "disk", key: True})
            return lambda: self.desk_a.ask({"op": "disk"})
        if fault == "answer lost":
            proxy.add(Fault("drop", "POST", STATUS_PATH, times=rng.randint(1, 3)))
        elif fault == "answer late":
            late = READ_TIMEOUT + 0.5
            proxy.add(Fault("delay", "POST", STATUS_PATH, times=rng.randint(1, 3), seconds=late))
        elif fault == "connection reset":
            proxy.add(Fault("reset", None, "", times=rng.randint(1, 4)))
        elif fault == "5xx / 429":
            status = rng.choice([500, 502, 503, 429])
            forward = rng.random() < 0.5
            proxy.add(Fault("status", "POST", STATUS_PATH, times=2, status=status, forward=forward))
        return proxy.clear

    # ------------------------------------------------------------------ accounting

    def account(self) -> None:
        """Lost and duplicated actions, from the portal's history of every check-in."""
        truth = portal_truth(self.observer, set(self.all_ids))
        applied: Counter[tuple[str, str, str]] = Counter()
        for checkin_id, history in truth.items():
            for data in history:
                for desk, name in self.names.items():
                    if data["status_changed_by"] == name:
                        applied[(desk, checkin_id, data["status"])] += 1
        for action in self.confirmed:
            tally = self.tally_of[action]
            if applied[action] == 0:
                tally.lost += 1
            elif applied[action] > 1:
                tally.duplicated += applied[action] - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds per fault class")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="visitdesk-faults-") as tmp:
        run = Run(Path(tmp), args.rounds, args.seed)
        try:
            order = [c for c in CLASSES for _ in range(args.rounds)]
            run.rng.shuffle(order)
            for n, fault in enumerate(order, 1):
                run.round(fault)
                print(f"  round {n}/{len(order)}: {fault}", file=sys.stderr, flush=True)
            run.account()
        finally:
            run.close()
    print_table(run.tallies, args, time.monotonic() - started)
    bad = sum(t.lost + t.duplicated + t.differing for t in run.tallies.values())
    return 1 if bad else 0


def print_table(tallies: dict[str, Tally], args: argparse.Namespace, seconds: float) -> None:
    print(f"Fault run: seed {args.seed}, {args.rounds} rounds per class, {seconds:.0f} s")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    header = "| fault class | rounds | actions | not saved, said so | lost | duplicated |"
    print(header + " desks differing | recovery median / max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    total = Tally()
    for name, t in tallies.items():
        times = t.recovery or [0.0]
        print(
            f"| {name} | {t.rounds} | {t.actions} | {t.refused_at_once} | {t.lost} "
            f"| {t.duplicated} | {t.differing} "
            f"| {statistics.median(times):.2f} s / {max(times):.2f} s |"
        )
        total.rounds += t.rounds
        total.actions += t.actions
        total.refused_at_once += t.refused_at_once
        total.lost += t.lost
        total.duplicated += t.duplicated
        total.differing += t.differing
        total.recovery += t.recovery
    times = total.recovery or [0.0]
    print(
        f"| all | {total.rounds} | {total.actions} | {total.refused_at_once} | {total.lost} "
        f"| {total.duplicated} "
        f"| {total.differing} | {statistics.median(times):.2f} s / {max(times):.2f} s |"
    )


if __name__ == "__main__":
    sys.exit(main())
