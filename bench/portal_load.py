"""Portal load benchmark: desks long-polling the change feed while patients tap I'm Here.

    python bench/portal_load.py [--configs sqlite-1,postgres-1,postgres-4] [--desks 50,200]
        [--postgres-url postgresql+psycopg://user@host/db]   (password: $VISITDESK_PORTAL_DATABASE_PASSWORD)
        [--setting longpoll_pace_seconds=0.05 ...]   (portal settings for the run)

For each configuration the real portal runs as its own process (``visitdesk-portal serve``, over
loopback TLS), with a new practice of 5,000 patients. Per desk count:

1. ``desks`` desks long-poll ``GET /changes?wait=20`` as the sync engine does, each on its own
   connection (spread over the workers by the kernel), with a bare HTTP/1.1 client (Lean) so
   the simulated desks take little of the CPU the portal shares with them;
2. latency: patients tap I'm Here at about 10 taps/s; for every tap and every desk the time from
   sending the tap to the desk holding the item, split by whether the desk's long-poll was answered
   by the same worker process as the tap or by another one;
3. throughput: 32 patients tap as fast as the portal answers for 10 s (taps/s);
4. burst: 250 taps sent at once.

Printed: p50/p95 of I'm Here -> desk (same / cross worker), taps/s, burst answers, 5xx count over
all phases, most database connections in use (PostgreSQL) and peak RSS of each worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from argon2 import PasswordHasher
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from visitdesk.api.wire import PATIENT_PREFIX, STAFF_PREFIX
from visitdesk.portal.demo.seed import DemoCredentials, create_practice
from visitdesk.portal.persistence.db import Database, PoolSettings
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Appointment, Patient, Practice
from visitdesk.portal.web.config import DATABASE_PASSWORD_ENV

REPO = Path(__file__).resolve().parents[1]
WAIT = 20.0
LATENCY_TAPS = 60
LATENCY_RATE = 10.0
THROUGHPUT_TAPPERS = 32
THROUGHPUT_SECONDS = 10.0
BURST = 250
#: Patients who may tap, each once: enough for the throughput phase at a few hundred taps/s.
TAPPING_PATIENTS = 4000


@dataclass
class Portal:
    process: subprocess.Popen[str]
    url: str
    ca_file: str
    database_url: str


@dataclass
class Run:
    config: str
    desks: int
    same: list[float] = field(default_factory=list)
    cross: list[float] = field(default_factory=list)
    taps_per_second: float = 0.0
    burst: dict[int, int] = field(default_factory=dict)
    errors_5xx: int = 0
    transport_retries: int = 0
    connections: int = 0
    rss_mib: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- portal process


def start_portal(
    config: str, data_dir: Path, postgres_url: str, overrides: dict[str, Any] | None = None
) -> Portal:
    backend, workers = config.split("-")
    settings = data_dir / "settings.json"
    settings.write_text(json.dumps({"worker_header": True, **(overrides or {})}), encoding="utf-8")
    ready = data_dir / "ready.json"
    args = [
        sys.executable, "-m", "visitdesk.portal.web.cli", "--log-level", "WARNING", "serve",
        "--port", "0", "--data-dir", str(data_dir / "portal"), "--ready-file", str(ready),
        "--workers", workers, "--settings", str(settings),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    database_url = f"sqlite:///{data_dir / 'portal' / 'portal.sqlite3'}"
    if backend == "postgres":
        parsed = make_url(postgres_url)
        if parsed.password:
            env[DATABASE_PASSWORD_ENV] = parsed.password
        bare = f"{parsed.drivername}://{parsed.username}@{parsed.host}:{parsed.port or 5432}/{parsed.database}"
        args += ["--database-url", bare]
        database_url = postgres_url
    process = subprocess.Popen(args, env=env, cwd=REPO, text=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("portal did not start")
        time.sleep(0.1)
    info = json.loads(ready.read_text())
    return Portal(process, info["url"], info["ca_file"], database_url)


def stop_portal(portal: Portal) -> None:
    portal.process.send_signal(signal.SIGTERM)
    try:
        portal.process.wait(60)
    except subprocess.TimeoutExpired:
        portal.process.kill()
        portal.process.wait()


def worker_rss_mib(parent: int) -> list[int]:
    """Peak RSS (VmHWM) of the portal's processes: the workers, or the single process."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    peaks = []
    for pid in children or [parent]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if match and (not children or b"spawn_main" in cmdline):  # not the resource tracker
            peaks.append(int(match.group(1)) // 1024)
    return peaks


class ConnectionSampler:
    """Most connections to the database seen during the run (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionSampler:
        if self.url.startswith("postgresql"):
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        db = Database.from_url(self.url, PoolSettings(pool_size=1))
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        try:
            while not self._stop.wait(0.2):
                with db.read() as session:
                    self.most = max(self.most, int(session.execute(query).scalar_one()))
        finally:
            db.dispose()


# --------------------------------------------------------------------------- load


def new_practice(database_url: str) -> tuple[DemoCredentials, list[tuple[int, str]]]:
    """A practice of 5,000 patients, and (account index, patient id) pairs that may tap.

    The seed links each of 40 accounts to its own patients; the benchmark links every account to
    further patients too (a family's proxy, in effect), so each tap is a new arrival.
    """
    db = Database.from_url(database_url, PoolSettings(pool_size=2))
    try:
        code = f"load{secrets.token_hex(4)}"
        creds = create_practice(
            db,
            code=code,
            name=f"Load {code}",
            patients=5000,
            accounts=40,
            seed=code,
            hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        )
        with db.write() as session:
            account_of = {
                patient_id: account_id
                for patient_id, account_id in session.execute(
                    select(AccountLink.patient_id, AccountLink.account_id).where(
                        AccountLink.practice_id == creds.practice_id
                    )
                )
            }
            accounts = {p.login: account_of[p.patient_ids[0]] for p in creds.patients}
            linked = set(account_of)
            free = [
                patient_id
                for patient_id in session.scalars(
                    select(Patient.id).where(Patient.practice_id == creds.practice_id)
                )
                if patient_id not in linked
            ][:TAPPING_PATIENTS]
            pairs: list[tuple[int, str]] = []
            rows = []
            for number, patient_id in enumerate(free):
                index = number % len(creds.patients)
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "account_id": accounts[creds.patients[index].login],
                        "patient_id": patient_id,
                        "practice_id": creds.practice_id,
                        "relationship": "other",
                    }
                )
                pairs.append((index, patient_id))
            session.execute(insert(AccountLink), rows)
            # Each tapping patient has an appointment starting now: I'm Here is accepted only
            # inside the practice's arrival window around an appointment today.
            starts = datetime.now(UTC)
            session.execute(
                insert(Appointment),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "practice_id": creds.practice_id,
                        "external_id": f"load-{number}",
                        "patient_id": patient_id,
                        "starts_at": starts,
                        "provider": "Dr. Load",
                        "updated_at": starts,
                    }
                    for number, (_index, patient_id) in enumerate(pairs)
                ],
            )
        return creds, pairs
    finally:
        db.dispose()


class Lean:
    """One kept-alive TLS connection to the portal, with HTTP/1.1 written by hand.

    Real desks and phones each have their own computer; here the simulated ones share the
    portal's two cores. A general HTTP client spends about a millisecond of Python per call,
    which would be measured as the portal's latency and taken from its throughput; this one
    only writes the request and reads ``Content-Length`` bytes back.
    """

    def __init__(self, portal: Portal) -> None:
        url = urlsplit(portal.url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 443
        self.ssl = ssl.create_default_context(cafile=portal.ca_file)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(
        self, method: str, target: str, token: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.ssl, server_hostname=self.host
            )
        assert self.reader is not None
        length = (
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
        )
        self.writer.write(
            f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {token}\r\n{headers}{length}\r\n".encode("ascii")
            + body
        )
        status = int((await self.reader.readline()).split()[1])
        received: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            received[name.strip().lower()] = value.strip()
        content = await self.reader.readexactly(int(received.get("content-length", "0")))
        if received.get("connection", "").lower() == "close":
            await self.close()
        return status, received, content

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


class Load:
    def __init__(
        self, portal: Portal, creds: DemoCredentials, pairs: list[tuple[int, str]], run: Run
    ) -> None:
        self.portal = portal
        self.creds = creds
        self.pairs = pairs
        self.run = run
        self.staff = f"{portal.url}{STAFF_PREFIX}"
        self.patient = f"{portal.url}{PATIENT_PREFIX}"
        self.taps: dict[str, tuple[float, str]] = {}  # check-in id -> (sent at, worker)
        self.tapped_at: dict[str, float] = {}  # patient id -> sent at (before the id is known)
        self.patient_worker: dict[str, str] = {}
        self.deliveries: list[tuple[str, float, str]] = []  # (patient id, received, worker)
        self.stop = asyncio.Event()

    def client(self, connections: int = 1) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=self.portal.ca_file,
            trust_env=False,
            timeout=60,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def sign_in(self) -> tuple[str, list[tuple[str, str]]]:
        desk = self.creds.staff[0]
        async with self.client(32) as http:
            answer = await http.post(
                f"{self.staff}/sessions",
                json={
                    "practice": self.creds.practice_code,
                    "username": desk.username,
                    "password": desk.password,
                },
            )
            answer.raise_for_status()
            token = answer.json()["access_token"]
            gate = asyncio.Semaphore(16)

            async def patient(cred: Any) -> str:
                async with gate:
                    while True:
                        got = await http.post(
                            f"{self.patient}/sessions",
                            json={"login": cred.login, "password": cred.password},
                        )
                        if got.status_code != 503:
                            break
                        self.run.errors_5xx += 1  # back-pressure: retry as the app would
                        await asyncio.sleep(float(got.headers.get("retry-after", "1")))
                    got.raise_for_status()
                    return str(got.json()["access_token"])

            tokens = await asyncio.gather(*(patient(c) for c in self.creds.patients))
        return token, [(tokens[index], patient_id) for index, patient_id in self.pairs]

    async def desk(self, token: str, after: int) -> None:
        """One desk's long-poll loop, on a bare HTTP/1.1 keep-alive connection (see Lean)."""
        desk = Lean(self.portal)
        try:
            while not self.stop.is_set():
                try:
                    status, headers, body = await desk.send(
                        "GET",
                        f"{STAFF_PREFIX}/changes?after={after}&wait={WAIT:g}&limit=1000",
                        token,
                    )
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    await desk.close()
                    await asyncio.sleep(0.5)
                    continue
                received = time.perf_counter()
                if status >= 500:
                    self.run.errors_5xx += 1
                    await asyncio.sleep(1)
                    continue
                page = json.loads(body)
                worker = headers.get("x-visitdesk-worker", "")
                for item in page["items"]:
                    if item["kind"] == "checkin":
                        self.deliveries.append((item["data"]["patient_id"], received, worker))
                after = page["last_seq"]
        finally:
            await desk.close()

    async def tap(self, phones: asyncio.Queue[Lean], token: str, patient_id: str) -> int:
        """One I'm Here, sent on a free connection of ``phones`` (a phone's kept-alive one)."""
        self.tapped_at[patient_id] = time.perf_counter()
        body = json.dumps({"patient_id": patient_id}).encode()
        phone = await phones.get()
        try:
            for _attempt in range(5):
                try:
                    status, headers, _ = await phone.send(
                        "POST",
                        f"{PATIENT_PREFIX}/checkins",
                        token,
                        body,
                        f"Idempotency-Key: {patient_id}\r\n",
                    )
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    # A kept-alive connection the server closed as we reused it: the app resends
                    # (same idempotency key, so never twice).
                    await phone.close()
                    self.run.transport_retries += 1
                    continue
                self.patient_worker[patient_id] = headers.get("x-visitdesk-worker", "")
                if status < 500:
                    return status
                self.run.errors_5xx += 1  # counted; then retried after Retry-After, as the app does
                await asyncio.sleep(float(headers.get("retry-after", "1")))
            return 0  # no answer after every attempt
        finally:
            phones.put_nowait(phone)

    def phones(self, count: int) -> asyncio.Queue[Lean]:
        queue: asyncio.Queue[Lean] = asyncio.Queue()
        for _ in range(count):
            queue.put_nowait(Lean(self.portal))
        return queue

    async def all_waiting(self, desks: int) -> None:
        """Until the portal counts every desk's long-poll as open (metrics of all workers)."""
        deadline = time.monotonic() + 120
        async with self.client() as http:
            while time.monotonic() < deadline:
                metrics = (await http.get(f"{self.portal.url}/metrics")).text
                match = re.search(r"^visitdesk_longpolls_open (\S+)$", metrics, re.MULTILINE)
                if match and float(match.group(1)) >= desks:
                    break
                await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # the last ones have read once and now wait


async def hang_up(phones: asyncio.Queue[Lean]) -> None:
    while not phones.empty():
        await phones.get_nowait().close()


async def load(
    portal: Portal, creds: DemoCredentials, pairs: list[tuple[int, str]], run: Run
) -> None:
    work = Load(portal, creds, pairs, run)
    token, tappers = await work.sign_in()
    async with work.client() as http:
        answer = await http.get(
            f"{work.staff}/changes",
            params={"after": 0, "limit": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        after = int(answer.json()["last_seq"])
        # The practice's seeded items are all there: start at the end of the feed.
        while True:
            page = (
                await http.get(
                    f"{work.staff}/changes",
                    params={"after": after, "limit": 5000},
                    headers={"Authorization": f"Bearer {token}"},
                )
            ).json()
            after = page["last_seq"]
            if not page["more"]:
                break
    desks = [asyncio.create_task(work.desk(token, after)) for _ in range(run.desks)]
    await work.all_waiting(run.desks)
    queue = list(tappers)

    # Latency: a steady trickle of taps.
    latency_patients = set()
    phones = work.phones(8)
    pending = []
    for _ in range(LATENCY_TAPS):
        tap_token, patient_id = queue.pop()
        latency_patients.add(patient_id)
        pending.append(asyncio.create_task(work.tap(phones, tap_token, patient_id)))
        await asyncio.sleep(1 / LATENCY_RATE)
    await asyncio.gather(*pending)
    await hang_up(phones)
    await asyncio.sleep(2.0)
    for patient_id, received, worker in work.deliveries:
        if patient_id in latency_patients:
            latency = (received - work.tapped_at[patient_id]) * 1000
            same = worker == work.patient_worker.get(patient_id)
            (run.same if same else run.cross).append(latency)

    # Kept for the burst, so a portal fast enough to use up the queue still gets its burst.
    burst = [queue.pop() for _ in range(min(BURST, len(queue)))]

    # Throughput: patients tapping as fast as answers come.
    phones = work.phones(THROUGHPUT_TAPPERS)
    done = 0
    started = time.perf_counter()

    async def tapper() -> None:
        nonlocal done
        while queue and time.perf_counter() - started < THROUGHPUT_SECONDS:
            tap_token, patient_id = queue.pop()
            if await work.tap(phones, tap_token, patient_id) == 201:
                done += 1

    await asyncio.gather(*(tapper() for _ in range(THROUGHPUT_TAPPERS)))
    run.taps_per_second = done / (time.perf_counter() - started)
    await hang_up(phones)

    # Burst: many taps at the same moment, each from its own phone.
    phones = work.phones(BURST)
    codes = await asyncio.gather(*(work.tap(phones, t, p) for t, p in burst))
    await hang_up(phones)
    for code in codes:
        run.burst[code] = run.burst.get(code, 0) + 1
    work.stop.set()
    for task in desks:
        task.cancel()
    await asyncio.gather(*desks, return_exceptions=True)


def _hammer(
    db: Database, practice_id: str, size: int, deadline: float, counts: list[int], slot: int
) -> None:
    item = NewChange("probe", "x", "{}")
    while time.perf_counter() < deadline:
        with db.write() as session:
            append_changes(session, practice_id, [item] * size)
        counts[slot] += size


def feed_ceiling(database_url: str, writers: int = 8, seconds: float = 5.0) -> tuple[float, float]:
    """Feed items committed per second into ONE practice by ``writers`` threads, one item per
    transaction and 50 items per transaction: the per-practice write ceiling."""
    db = Database.from_url(database_url, PoolSettings(pool_size=writers + 1))
    results = []
    try:
        for batch in (1, 50):
            practice_id = str(uuid.uuid4())
            with db.write() as session:
                session.add(Practice(id=practice_id, code=f"ceil{practice_id[:8]}", name="Ceiling"))
            deadline = time.perf_counter() + seconds
            counts = [0] * writers

            started = time.perf_counter()
            threads = [
                threading.Thread(target=_hammer, args=(db, practice_id, batch, deadline, counts, n))
                for n in range(writers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            results.append(sum(counts) / (time.perf_counter() - started))
    finally:
        db.dispose()
    return results[0], results[1]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="sqlite-1,postgres-1,postgres-4")
    parser.add_argument("--desks", default="50,200")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("VISITDESK_BENCH_POSTGRES_URL")
        or os.environ.get("VISITDESK_TEST_POSTGRES_URL", ""),
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="a portal setting for the run, e.g. longpoll_pace_seconds=0.1 (repeatable)",
    )
    parser.add_argument(
        "--feed-ceiling",
        action="store_true",
        help="measure only the per-practice feed write ceiling on --postgres-url",
    )
    args = parser.parse_args()
    if args.feed_ceiling:
        single, batched = feed_ceiling(args.postgres_url)
        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
        print(f"one practice, 8 writers: {single:.0f} items/s (1 item per transaction), "
              f"{batched:.0f} items/s (50 items per transaction)")  # fmt: skip
        return 0
    desk_counts = [int(n) for n in args.desks.split(",")]
    runs: list[Run] = []
    for config in args.configs.split(","):
        if config.startswith("postgres") and not args.postgres_url:
            print(f"skipping {config}: no --postgres-url", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(prefix="visitdesk-load-") as tmp:
            overrides = {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.setting)}
            portal = start_portal(config, Path(tmp), args.postgres_url, overrides)
            try:
                for desks in desk_counts:
                    creds, pairs = new_practice(portal.database_url)
                    run = Run(config, desks)
                    with ConnectionSampler(portal.database_url) as sampler:
                        asyncio.run(load(portal, creds, pairs, run))
                    run.connections = sampler.most
                    run.rss_mib = worker_rss_mib(portal.process.pid)
                    runs.append(run)
                    report(run)
            finally:
                stop_portal(portal)
    print()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(
        "| configuration | desks | I'm Here -> desk p50 / p95 ms (same worker) "
        "| p50 / p95 ms (cross worker) | taps/s | burst of 250 | 5xx | DB connections | RSS MiB per worker |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        print(table_row(run))
    return 0


def _pair(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 0.5):.0f} / {percentile(values, 0.95):.0f}"


def table_row(run: Run) -> str:
    burst = ", ".join(f"{count}x{code}" for code, count in sorted(run.burst.items()))
    connections = str(run.connections) if run.config.startswith("postgres") else "-"
    rss = "/".join(str(m) for m in run.rss_mib)
    return (
        f"| {run.config} | {run.desks} | {_pair(run.same)} | {_pair(run.cross)} | "
        f"{run.taps_per_second:.0f} | {burst} | {run.errors_5xx} | {connections} | {rss} |"
    )


def report(run: Run) -> None:
    print(table_row(run), flush=True)


if __name__ == "__main__":
    sys.exit(main())
