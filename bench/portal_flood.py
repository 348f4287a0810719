"""Sign-in flood benchmark: does I'm Here stay fast while someone hammers the sign-in routes?

    python bench/portal_flood.py [--flooders 60] [--seconds 20] [--taps 60]

Starts the portal as a separate process over loopback TLS with the production password hashing
(argon2id, 64 MiB, 3 passes), as a deployment runs it. Then, with and without a flood:

- patients tap I'm Here (POST /checkins, already signed in) one after another: latency p50/p95;
- a desk long-polls the change feed (GET /changes?wait=...): every check-in must reach it;
- the flood: ``--flooders`` threads signing in as fast as they can, half with unknown logins and
  half with known logins and their right passwords, each from its own client address (the portal
  trusts X-Forwarded-For from loopback here, as behind a reverse proxy), so the per-address and
  per-login throttles do not stop them and every attempt costs a password hash.

Prints the latencies, how sign-ins were answered (200, 401, 503 + Retry-After...), and the
portal's resident memory before the flood and at its peak (VmHWM).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}"


def portal_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "visitdesk.portal", *args]


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def session(ca_file: str) -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    http.verify = ca_file
    return http


class Portal:
    def __init__(self, root: Path) -> None:
        data = root / "portal"
        seeded = subprocess.run(
            portal_command(
                "seed-demo",
                "--data-dir",
                str(data),
                "--patients",
                "200",
                "--arrivals-spread",
                "40",
                "--json",
            ),
            capture_output=True,
            check=True,
        )
        self.credentials: dict[str, Any] = json.loads(seeded.stdout)
        ready = root / "ready.json"
        self.process = subprocess.Popen(
            portal_command(
                "--log-level",
                "WARNING",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(data),
                "--ready-file",
                str(ready),
                "--trusted-proxy",
                "127.0.0.1",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while not ready.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the portal did not start")
            threading.Event().wait(0.05)
        info = json.loads(ready.read_text())
        self.url: str = info["url"]
        self.ca_file: str = info["ca_file"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


class Desk(threading.Thread):
    """A front desk long-polling the feed; notes when each check-in reaches it."""

    def __init__(self, portal: Portal) -> None:
        super().__init__(daemon=True)
        self.portal = portal
        self.http = session(portal.ca_file)
        staff = next(s for s in portal.credentials["staff"] if s["role"] == "front_desk")
        signed_in = self.http.post(
            f"{portal.url}/api/staff/v1/sessions",
            json={
                "practice": portal.credentials["practice_code"],
                "username": staff["username"],
                "password": staff["password"],
            },
            timeout=30,
        )
        signed_in.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
        self.after = 0
        self.seen: dict[str, float] = {}
        self.polls = 0
        self.errors = 0
        self.longest_gap = 0.0
        self.stop_event = threading.Event()
        self._catch_up()

    def _catch_up(self) -> None:
        while True:
            page = self.http.get(
                f"{self.portal.url}/api/staff/v1/changes",
                params={"after": self.after, "limit": 5000},
                timeout=30,
            ).json()
            self.after = page["last_seq"]
            if not page["more"]:
                return

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stop_event.is_set():
            try:
                response = self.http.get(
                    f"{self.portal.url}/api/staff/v1/changes",
                    params={"after": self.after, "limit": 500, "wait": 5},
                    timeout=30,
                )
            except requests.RequestException:
                self.errors += 1
                continue
            now = time.perf_counter()
            self.longest_gap = max(self.longest_gap, now - last)
            last = now
            self.polls += 1
            if response.status_code != 200:
                self.errors += 1
                continue
            page = response.json()
            for item in page["items"]:
                if item["kind"] == "checkin":
                    self.seen.setdefault(item["id"], now)
            self.after = page["last_seq"]


class Flood:
    """Threads signing in as fast as they can, each attempt from a fresh client address."""

    def __init__(self, portal: Portal, threads: int) -> None:
        self.portal = portal
        self.threads = threads
        self.answers: collections.Counter[int | str] = collections.Counter()
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.workers = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        self.stop_event.set()
        for worker in self.workers:
            worker.join(60)

    def _run(self, number: int) -> None:
        http = session(self.portal.ca_file)
        known = self.portal.credentials["patients"]
        while not self.stop_event.is_set():
            if number % 2:
                account = known[number % len(known)]
                body = {"login": account["login"], "password": account["password"]}
            else:
                body = {"login": f"nobody-{secrets.token_hex(6)}", "password": "guess-guess-42"}
            address = f"10.{number}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
            try:
                response = http.post(
                    f"{self.portal.url}/api/patient/v1/sessions",
                    json=body,
                    headers={"X-Forwarded-For": address},
                    timeout=30,
                )
                answer: int | str = response.status_code
            except (requests.RequestException, OSError) as exc:
                answer = type(exc).__name__
            with self.lock:
                self.answers[answer] += 1


def patient_taps(portal: Portal) -> list[tuple[str, dict[str, str]]]:
    """(token, I'm Here body) for each demo patient with an appointment today, signed in before
    any flood (a sign-in during the flood waits for a hashing slot like everyone else's)."""
    http = session(portal.ca_file)
    taps: list[tuple[str, dict[str, str]]] = []
    for account in portal.credentials["patients"]:
        signed_in = http.post(
            f"{portal.url}/api/patient/v1/sessions",
            json={"login": account["login"], "password": account["password"]},
            timeout=60,
        )
        signed_in.raise_for_status()
        token = signed_in.json()["access_token"]
        appointments = http.get(
            f"{portal.url}/api/patient/v1/appointments",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).json()
        # The portal lists today's and upcoming visits; I'm Here is for today's, which come first
        # (a patient's later visits would be refused as not today's).
        first_by_patient: dict[str, dict[str, Any]] = {}
        for appointment in appointments:
            first_by_patient.setdefault(appointment["patient_id"], appointment)
        for appointment in first_by_patient.values():
            if appointment["status"] == "scheduled":
                body = {
                    "patient_id": appointment["patient_id"],
                    "appointment_id": appointment["id"],
                }
                taps.append((token, body))
    http.close()
    if not taps:
        raise SystemExit("the demo practice has no appointment to check in to")
    return taps


def tap_round(
    portal: Portal, desk: Desk, taps: list[tuple[str, dict[str, str]]], count: int
) -> tuple[list[float], list[float], int]:
    """I'm Here taps: request latencies, tap-to-feed delays, and failures."""
    http = session(portal.ca_file)
    latencies: list[float] = []
    delays: list[float] = []
    failures = 0
    for n in range(count):
        token, body = taps[n % len(taps)]
        started = time.perf_counter()
        response = http.post(
            f"{portal.url}/api/patient/v1/checkins",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        latencies.append(time.perf_counter() - started)
        if response.status_code not in (200, 201):
            failures += 1
            continue
        checkin = response.json()["id"]
        if response.status_code == 201 or checkin not in desk.seen:
            deadline = started + 30
            while checkin not in desk.seen and time.perf_counter() < deadline:
                threading.Event().wait(0.005)
            if checkin in desk.seen and response.status_code == 201:
                delays.append(desk.seen[checkin] - started)
        threading.Event().wait(0.05)
    http.close()
    return latencies, delays, failures


def report(name: str, latencies: list[float], delays: list[float], failures: int) -> None:
    ms = [v * 1000 for v in latencies]
    line = (
        f"{name:<14} I'm Here p50 {statistics.median(ms):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms"
        f"   max {max(ms):7.1f} ms   failed {failures}"
    )
    if delays:
        to_desk = [v * 1000 for v in delays]
        line += f"   tap->desk feed p95 {percentile(to_desk, 95):7.1f} ms (n={len(to_desk)})"
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flooders", type=int, default=60)
    parser.add_argument("--taps", type=int, default=60)
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"machine: {machine()}, Python {platform.python_version()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="visitdesk-flood-") as tmp:
        portal = Portal(Path(tmp))
        try:
            desk = Desk(portal)
            desk.start()
            baseline_rss = memory_kib(portal.process.pid, "VmRSS")
            taps = patient_taps(portal)
            latencies, delays, failures = tap_round(portal, desk, taps, args.taps)
            report("no flood", latencies, delays, failures)
            idle_rss = memory_kib(portal.process.pid, "VmRSS")

            flood = Flood(portal, args.flooders)
            flood.start()
            threading.Event().wait(args.warmup_seconds)
            started = time.perf_counter()
            try:
                latencies, delays, failures = tap_round(portal, desk, taps, args.taps)
            finally:
                flood.stop()
            flooded_for = time.perf_counter() - started + args.warmup_seconds
            report(f"{args.flooders} flooders", latencies, delays, failures)
            peak = memory_kib(portal.process.pid, "VmHWM")
            desk.stop_event.set()

            total = sum(flood.answers.values())
            print(
                f"sign-in flood: {total} attempts in {flooded_for:.1f} s "
                f"({total / flooded_for:.0f}/s); answers: "
                + ", ".join(f"{k}: {v}" for k, v in sorted(flood.answers.items(), key=str))
            )
            print(
                f"desk long-poll: {desk.polls} answers, {desk.errors} errors, "
                f"longest gap {desk.longest_gap:.2f} s (wait=5 s)"
            )
            print(
                f"portal memory: {baseline_rss / 1024:.0f} MiB at start, "
                f"{idle_rss / 1024:.0f} MiB after the quiet round, peak {peak / 1024:.0f} MiB"
            )
        finally:
            portal.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
