"""Sync benchmark: CSV import, push and pull of a large practice, and I'm Here latency to the board.

    QT_QPA_PLATFORM=offscreen python bench/sync.py [--patients 100000] [--taps 40]
        [--ledger-lines 1000000] [--push-only] [--push-concurrency 4]
        [--postgres-url postgresql+psycopg://user:password@host/db] [--portal-workers 2]

Runs the real portal as a separate process over loopback TLS (as in a deployment) and the real desk
parts in this process, on SQLite or, with --postgres-url, on PostgreSQL (a new practice is created
in that database on each run; nothing else in it is touched). Prints measured figures and the
machine they ran on:

1. importing a CSV of N patients into a workstation's store (validate, save, queue for the portal);
2. pushing them to the portal through the outbox (batches of 1,000 with idempotency keys);
3. a second, empty workstation pulling the whole practice through the change feed, while a main
   window runs on this thread: the longest stall of the GUI event loop is measured throughout;
4. patients tapping I'm Here: time from the tap until the row is on the second workstation's board.

With --push-only the patients and the ledger are both imported first and then pushed together, as
a practice's initial load is: the figure is the time until the outbox is empty, and then until the
desk has pulled every record back with its portal id (steps 3 and 4 are skipped).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from visitdesk.api.heap import settle_garbage_collector
from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop import session as sessions
from visitdesk.desktop.app import build_ops
from visitdesk.desktop.collector import GuiThreadCollector
from visitdesk.desktop.main_window import MainWindow
from visitdesk.desktop.models.csv_import import import_patients_csv
from visitdesk.desktop.sync_bridge import SyncBridge
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "Sofia",
    "Mateo",
    "Aaliyah",
    "Nguyen",
    "Chloé",
    "Zoë",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Ava",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Lopez",
    "Hernández",
    "O'Brien",
    "Nguyen",
    "Kim",
    "Patel",
    "Smith-Jones",
    "Martin",
    "Lee",
    "Walker",
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def write_patients_csv(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "mrn",
                "first_name",
                "last_name",
                "date_of_birth",
                "sex",
                "address_line1",
                "city",
                "state",
                "postal_code",
                "phone",
                "email",
            ]
        )
        for n in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            out.writerow(
                [
                    f"B{n:07d}",
                    first,
                    last,
                    f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    rng.choice("FMU"),
                    f"{rng.randint(1, 9999)} Elm Street",
                    "Springfield",
                    "MA",
                    f"01{rng.randint(0, 999):03d}",
                    f"413-555-{rng.randint(0, 9999):04d}",
                    f"p{n}@example.org",
                ]
            )


def portal(*args: str, **kwargs: Any) -> Any:
    return [sys.executable, "-m", "visitdesk.portal", *args]


def new_postgres_practice(url: str) -> dict[str, Any]:
    """A practice of 20 patients under a fresh code in the PostgreSQL database at `url`."""
    import secrets

    from visitdesk.portal.demo.seed import create_practice
    from visitdesk.portal.persistence.db import Database

    db = Database.from_url(url)
    try:
        db.migrate_schema()
        code = f"bench{secrets.token_hex(4)}"
        creds = create_practice(db, code=code, name=f"Bench {code}", patients=40, accounts=10)
    finally:
        db.dispose()
    return dict(json.loads(creds.to_json()))


def start_portal(
    root: Path, postgres_url: str | None = None, workers: int = 1
) -> tuple[subprocess.Popen[bytes], dict[str, Any], dict[str, Any]]:
    data = root / "portal"
    env = dict(os.environ)
    serve = ["serve", "--port", "0", "--data-dir", str(data), "--workers", str(workers)]
    if postgres_url:
        from sqlalchemy import make_url

        from visitdesk.portal.web.config import DATABASE_PASSWORD_ENV

        creds = new_postgres_practice(postgres_url)
        parsed = make_url(postgres_url)
        if parsed.password:
            env[DATABASE_PASSWORD_ENV] = parsed.password  # never on the command line
        bare = (
            f"{parsed.drivername}://{parsed.username}@{parsed.host}:{parsed.port or 5432}"
            f"/{parsed.database}"
        )
        serve += ["--database-url", bare]
    else:
        seeded = subprocess.run(
            portal(
                "seed-demo",
                "--data-dir",
                str(data),
                "--patients",
                "20",
                "--arrivals-spread",
                "40",
                "--json",
            ),
            capture_output=True,
            check=True,
        )
        creds = json.loads(seeded.stdout)
    ready = root / "ready.json"
    proc = subprocess.Popen(
        portal(*serve, "--ready-file", str(ready)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 180  # a loaded machine starts it slowly
    while not ready.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the portal did not start")
        threading.Event().wait(0.05)
    return proc, json.loads(ready.read_text()), creds


class GcPauses:
    """Longest pause of Python's cyclic garbage collector, which stops every thread."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.generation = -1
        self.full = 0  # full (generation 2) collections
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = (time.perf_counter() - self._started) * 1000
        self.full += info["generation"] == 2
        if took > self.longest:
            self.longest, self.generation = took, info["generation"]


class StallMeter:
    """The longest gap between beats of a 5 ms timer on the GUI thread, less the 5 ms."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = 0
        self._clock = QElapsedTimer()
        self._clock.start()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._beat)
        self._timer.start()

    def _beat(self) -> None:
        now = self._clock.elapsed()
        if self._last:
            self.longest = max(self.longest, now - self._last - 5)
        self._last = now

    def reset(self) -> None:
        self.longest, self._last = 0.0, 0

    def stop(self) -> None:
        self._timer.stop()


def settle_like_the_app() -> GuiThreadCollector:
    """The garbage-collector set-up the desk makes once a session is open."""
    settle_garbage_collector()
    collector = GuiThreadCollector()  # cyclic garbage on the GUI thread only
    collector.start()
    return collector


#: SyncEngine options from the command line (--push-concurrency); empty: the engine's defaults.
ENGINE_OPTIONS: dict[str, Any] = {}


def push_outbox(desk: Any) -> tuple[SyncEngine, float]:
    """Start a sync engine for `desk` and time it until its outbox is empty."""
    engine = SyncEngine(desk.client, desk.store, wait_seconds=5, **ENGINE_OPTIONS)
    started = time.perf_counter()
    engine.start()
    while desk.store.outbox_pending_count():
        threading.Event().wait(0.05)
    return engine, time.perf_counter() - started


def pending_by_command(store: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from visitdesk.desktop.models.schema import OutboxEntry

    with store.read() as session:
        rows = session.execute(
            select(OutboxEntry.command, func.count())
            .where(OutboxEntry.failed.is_(False))
            .group_by(OutboxEntry.command)
        )
        return {command: int(count) for command, count in rows}


def initial_push(
    root: Path, info: dict[str, Any], creds: dict[str, Any], count: int, lines: int
) -> None:
    """Import patients and ledger, then push both together, timing until the outbox is empty."""
    csv_path = root / "patients.csv"
    write_patients_csv(csv_path, count)
    first = open_desk(root, "ws1", info, creds, role="manager")
    started = time.perf_counter()
    report = import_patients_csv(first.store, csv_path)
    took = time.perf_counter() - started
    assert report.ok and report.created == count, report.errors[:3]
    print(f"import {count:,} patients from CSV: {took:.2f} s ({count / took:,.0f} rows/s)")
    total_lines = import_and_push_ledger(root, first, count, lines) if lines else 0
    queued = pending_by_command(first.store)
    # The collector as the app sets it up once a session is open (collections run where they
    # fall: the push has no window whose thread could take them).
    settle_garbage_collector()
    engine = SyncEngine(first.client, first.store, wait_seconds=5, **ENGINE_OPTIONS)
    started = time.perf_counter()
    patients_done = 0.0
    engine.start()
    while True:
        pending = pending_by_command(first.store)
        now = time.perf_counter() - started
        if not patients_done and not pending.get("upsert_patients"):
            patients_done = now
        if not pending:
            break
        threading.Event().wait(0.05)
    pushed = time.perf_counter() - started
    failed = len(first.store.failed_outbox_items())
    # A refused record never comes back; a stuck pull is given up on after ten minutes.
    deadline = time.perf_counter() + 600
    while not failed and without_portal_id(first.store) and time.perf_counter() < deadline:
        threading.Event().wait(0.1)
    caught_up = time.perf_counter() - started
    engine.stop()
    concurrency = ENGINE_OPTIONS.get("push_concurrency", "default")
    print(
        f"initial push of {count:,} patients and {total_lines:,} ledger lines "
        f"({sum(queued.values())} outbox items, push concurrency {concurrency}): {pushed:.2f} s "
        f"({(count + total_lines) / pushed:,.0f} records/s; patients done at {patients_done:.2f} s;"
        f" {failed} refused); the desk had pulled every record back (with its portal id) at "
        f"{caught_up:.2f} s"
    )
    first.client.close()
    first.store.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--taps", type=int, default=40)
    parser.add_argument(
        "--ledger-lines",
        type=int,
        default=0,
        help="also import, push and pull about this many ledger lines (DESIGN: 1,000,000)",
    )
    parser.add_argument(
        "--push-only",
        action="store_true",
        help="import patients and ledger, push them together and stop (no pull, no taps)",
    )
    parser.add_argument(
        "--push-concurrency", type=int, default=None, help="bulk outbox items sent at once"
    )
    parser.add_argument(
        "--portal-workers", type=int, default=1, help="portal worker processes (default 1)"
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="serve the portal from this PostgreSQL database (a new practice each run)",
    )
    args = parser.parse_args()
    if args.push_concurrency is not None:
        ENGINE_OPTIONS["push_concurrency"] = args.push_concurrency
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(tempfile.mkdtemp(prefix="visitdesk-bench-"))
    print(f"machine: {machine()}")
    print(
        f"portal: {'PostgreSQL' if args.postgres_url else 'SQLite'}, "
        f"{args.portal_workers} worker process(es)"
    )
    proc, info, creds = start_portal(root, args.postgres_url, args.portal_workers)
    try:
        if args.push_only:
            initial_push(root, info, creds, args.patients, args.ledger_lines)
        else:
            run(root, info, creds, args.patients, args.taps, args.ledger_lines)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)  # a full run leaves gigabytes otherwise
    return 0


def open_desk(
    root: Path, name: str, info: dict[str, Any], creds: dict[str, Any], role: str = "front_desk"
) -> sessions.OpenSession:
    staff = next(s for s in creds["staff"] if s["role"] == role)
    return sessions.sign_in(
        root / name,
        info["url"],
        creds["practice_code"],
        staff["username"],
        staff["password"],
        Path(info["ca_file"]),
        MemoryTokenStore(),
    )


def without_portal_id(store: Any) -> int:
    """Patients and ledger lines of the desk that the feed has not yet brought back."""
    from sqlalchemy import func, select

    from visitdesk.desktop.models.billing import LedgerLine
    from visitdesk.desktop.models.schema import Patient

    with store.read() as session:
        return sum(
            int(session.scalar(select(func.count()).where(table.portal_id.is_(None))) or 0)
            for table in (Patient, LedgerLine)
        )


def ledger_count(store: Any) -> int:
    from sqlalchemy import func, select

    from visitdesk.desktop.models.billing import LedgerLine

    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(LedgerLine)) or 0)


def import_and_push_ledger(root: Path, first: sessions.OpenSession, count: int, lines: int) -> int:
    """Ledgers for enough of the imported patients to make about `lines` lines; returns the count."""
    from datetime import date

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's test data
    from tests.billing_data import ledger_rows, write_ledger_csv
    from visitdesk.desktop.models.ledger_import import import_ledger_csv

    # The generator writes about 18 lines per account; one call keeps line ids unique.
    accounts = min(count, lines // 18 + 1)
    rows = ledger_rows([f"B{n:07d}" for n in range(accounts)], date.today())
    path = write_ledger_csv(root / "ledger.csv", rows)
    started = time.perf_counter()
    report = import_ledger_csv(first.store, path)
    took = time.perf_counter() - started
    assert report.ok, report.errors[:3]
    print(
        f"import {len(rows):,} ledger lines from CSV: {took:.2f} s ({len(rows) / took:,.0f} lines/s)"
    )
    return len(rows)


def run(
    root: Path, info: dict[str, Any], creds: dict[str, Any], count: int, taps: int, lines: int = 0
) -> None:
    app = QApplication([])
    csv_path = root / "patients.csv"
    write_patients_csv(csv_path, count)

    # 1. import
    # The office manager may import both patients and ledgers.
    first = open_desk(root, "ws1", info, creds, role="manager")
    started = time.perf_counter()
    report = import_patients_csv(first.store, csv_path)
    imported = time.perf_counter() - started
    assert report.ok and report.created == count, report.errors[:3]
    print(f"import {count:,} patients from CSV: {imported:.2f} s ({count / imported:,.0f} rows/s)")

    # 2. push through the outbox
    engine1, pushed = push_outbox(first)
    print(
        f"push {count:,} patients to the portal (outbox, {report.outbox_items} batches): "
        f"{pushed:.2f} s ({count / pushed:,.0f} records/s)"
    )

    total_lines = 0
    if lines:
        # Ledger lines of the billing staff take the same outbox and feed as patients do.
        engine1.stop()
        total_lines = import_and_push_ledger(root, first, count, lines)
        engine1, pushed = push_outbox(first)
        print(
            f"push {total_lines:,} ledger lines to the portal (outbox): {pushed:.2f} s "
            f"({total_lines / pushed:,.0f} lines/s)"
        )
        engine1.sync_until_idle(300)
        total_lines = ledger_count(first.store)  # with the demo practice's own ledgers

    # 3. a fresh workstation pulls everything while its window is open on this thread
    second = open_desk(root, "ws2", info, creds)
    bridge = SyncBridge()
    engine2 = SyncEngine(second.client, second.store, wait_seconds=20, listener=bridge)
    runner = TaskRunner()
    ops = build_ops(runner, second.store, engine2, bridge, second.staff, second.practice)
    window = MainWindow(ops, bridge)
    window.show()
    collector = settle_like_the_app()
    stall = StallMeter()
    total = count + 20
    gc_pauses = GcPauses()
    started = time.perf_counter()
    engine2.start()
    done = {"pull": 0.0}
    caught_up = threading.Event()

    def watch_counts() -> None:
        # Counting a million rows takes tens of milliseconds: off the GUI thread, like the app.
        while not caught_up.is_set():
            if second.store.patient_count() >= total and (
                not lines or ledger_count(second.store) >= total_lines
            ):
                done["pull"] = time.perf_counter() - started
                caught_up.set()
            else:
                time.sleep(0.02)

    watcher = threading.Thread(target=watch_counts, daemon=True)
    watcher.start()
    waiter = QTimer()
    waiter.setInterval(20)

    def check_pulled() -> None:
        if caught_up.is_set():
            waiter.stop()
            app.quit()

    waiter.timeout.connect(check_pulled)
    waiter.start()
    app.exec()
    watcher.join()
    items = total + total_lines
    what = f"{total:,} patients" + (f" and {total_lines:,} ledger lines" if lines else "")
    print(
        f"pull {what} into an empty workstation (change feed over TLS): "
        f"{done['pull']:.2f} s ({items / done['pull']:,.0f} records/s)"
    )
    print(
        f"longest GUI event-loop stall during the pull: {stall.longest:.0f} ms "
        f"(longest garbage-collector pause {gc_pauses.longest:.0f} ms, generation "
        f"{gc_pauses.generation}; {gc_pauses.full} full collections)"
    )

    # 4. I'm Here latency to the second workstation's board
    latencies: list[float] = []
    board = window.checkins
    accounts = [(p["login"], p["password"], p["patient_ids"][0]) for p in creds["patients"]]
    http = requests.Session()
    http.trust_env = False
    http.verify = info["ca_file"]
    tokens: dict[str, str] = {}
    for login, password, _ in accounts:
        response = http.post(
            f"{info['url']}/api/patient/v1/sessions",
            json={"login": login, "password": password},
            timeout=10,
        )
        tokens[login] = response.json()["access_token"]
    tapped: dict[str, float] = {}
    stall.reset()

    def on_board() -> None:
        for row_number in range(board.model.rowCount()):
            row = board.model.row_at(row_number)
            if row is not None and row.id in tapped and row.id not in seen:
                seen.add(row.id)
                latencies.append(time.perf_counter() - tapped[row.id])
                arrived.set()

    seen: set[str] = set()
    arrived = threading.Event()
    board.model.modelReset.connect(on_board)

    def tapper() -> None:
        for n in range(taps):
            login, _, patient_id = accounts[n % len(accounts)]
            arrived.clear()
            t0 = time.perf_counter()
            response = http.post(
                f"{info['url']}/api/patient/v1/checkins",
                headers={"Authorization": f"Bearer {tokens[login]}"},
                json={"patient_id": patient_id},
                timeout=10,
            )
            checkin_id = response.json()["id"]
            tapped[checkin_id] = t0
            if not arrived.wait(10):
                print(f"tap {n}: not on the board after 10 s")
            # Cancelled is not active, so the same patient's next tap is a new check-in.
            first.client.set_checkin_status(
                checkin_id, CheckInStatus.CANCELLED, f"bench-{checkin_id}"
            )
            threading.Event().wait(0.2)

    tapping = threading.Thread(target=tapper, daemon=True)
    tapping.start()
    finished = QTimer()
    finished.setInterval(100)
    finished.timeout.connect(lambda: None if tapping.is_alive() else app.quit())
    finished.start()
    app.exec()
    finished.stop()
    print(
        f"I'm Here tap to row on another workstation's board ({len(latencies)} taps): "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {percentile(latencies, 95) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    print(f"longest GUI event-loop stall while taps arrived: {stall.longest:.0f} ms")

    stall.stop()
    collector.stop()
    engine1.stop()
    engine2.stop()
    runner.shutdown()
    window.close()
    for opened in (first, second):
        opened.client.close()
        opened.store.close()


if __name__ == "__main__":
    sys.exit(main())
