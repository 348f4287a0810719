"""Check-in desk benchmark: I'm Here to the row on three desks at once, and the board's reload
with a day of 2,000 appointments.

    QT_QPA_PLATFORM=offscreen python bench/checkin_desk.py [--appointments 2000] [--taps 30]

Runs the real portal as a separate process over loopback TLS and three real desks (store, sync
engine, main window) in this process, as three workstations of one front desk. The three share
this process's GUI thread and interpreter lock, which three workstations do not: the figures are
an upper bound for one desk. Prints:

1. the practice system's day of N appointments (8 providers, 4 locations) sent to the portal and
   pulled by the three desks;
2. patients tapping I'm Here: time from the tap until the row is on each desk's board
   (p50/p95 over every tap on every desk), and the longest GUI event-loop stall meanwhile;
3. the board's reload: reading the day's schedule and arrivals in SQL (as the board does, off the
   GUI thread), and putting the rows into the Qt models on the GUI thread.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bench.sync import (
    StallMeter,
    machine,
    open_desk,
    percentile,
    settle_like_the_app,
    start_portal,
)
from visitdesk.api.commands import WRITE_CHECKIN_SETTINGS
from visitdesk.api.wire import AppointmentRecord, CheckInStatus
from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.app import build_ops
from visitdesk.desktop.main_window import MainWindow
from visitdesk.desktop.models import schedule
from visitdesk.desktop.sync_bridge import SyncBridge
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.sync.engine import SyncEngine

PROVIDERS = [f"Dr. Provider {n}" for n in range(1, 9)]
LOCATIONS = ["Main Clinic", "Pediatrics", "Suite 200", "East Wing"]


def day_of_appointments(
    mrns: list[str], count: int, zone: ZoneInfo, seed: int = 3
) -> list[AppointmentRecord]:
    """`count` appointments today between 7:00 and 19:00, over 8 providers and 4 locations."""
    rng = random.Random(seed)
    today = datetime.now(zone).date()
    opens = datetime.combine(today, clock(7, 0), tzinfo=zone)
    return [
        AppointmentRecord(
            external_id=f"BENCH-{n}",
            mrn=rng.choice(mrns),
            starts_at=opens + timedelta(minutes=5 * rng.randrange(144)),
            provider=PROVIDERS[n % len(PROVIDERS)],
            location=LOCATIONS[n % len(LOCATIONS)],
            reason="Follow-up visit",
        )
        for n in range(count)
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=2000)
    parser.add_argument("--taps", type=int, default=30)
    parser.add_argument("--reloads", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(tempfile.mkdtemp(prefix="visitdesk-bench-desk-"))
    print(f"machine: {machine()}")
    proc, info, creds = start_portal(root)
    try:
        run(root, info, creds, args.appointments, args.taps, args.reloads)
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


class Desk:
    def __init__(self, root: Path, name: str, info: dict[str, Any], creds: dict[str, Any]) -> None:
        self.opened = open_desk(root, name, info, creds)
        self.bridge = SyncBridge()
        self.engine = SyncEngine(
            self.opened.client, self.opened.store, wait_seconds=20, listener=self.bridge
        )
        self.runner = TaskRunner()
        self.ops = build_ops(
            self.runner,
            self.opened.store,
            self.engine,
            self.bridge,
            self.opened.staff,
            self.opened.practice,
        )
        self.window = MainWindow(self.ops, self.bridge)
        self.window.resize(1280, 800)
        self.window.show()
        self.engine.start()

    @property
    def board(self) -> Any:
        return self.window.checkins

    def close(self) -> None:
        self.engine.stop()
        self.runner.shutdown()
        self.window.close()
        self.opened.client.close()
        self.opened.store.close()


def wait_on_gui(app: QApplication, done: Any, timeout: float) -> bool:
    """Run the event loop until `done()` or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: app.quit() if done() or time.monotonic() > deadline else None)
    timer.start()
    app.exec()
    timer.stop()
    return bool(done())


def run(
    root: Path, info: dict[str, Any], creds: dict[str, Any], count: int, taps: int, reloads: int
) -> None:
    app = QApplication([])
    collector = settle_like_the_app()  # the garbage collector as the app runs it
    desks = [Desk(root, f"desk{n}", info, creds) for n in range(1, 4)]
    first = desks[0]
    zone = ZoneInfo(first.opened.practice.timezone)
    assert wait_on_gui(app, lambda: first.opened.store.patient_count() >= 20, 60)

    # 1. the day's schedule from the practice system, pulled by every desk
    manager = open_desk(root, "manager", info, creds, role="manager")
    staff = manager.client
    # Every seeded app patient may tap now: the arrival window covers the demo's arrivals.
    settings = CheckInSettings(opens_minutes_before=240, closes_minutes_after=240)
    staff.call(WRITE_CHECKIN_SETTINGS, body=settings, idempotency_key="bench-settings")
    http = requests.Session()
    http.trust_env = False
    http.verify = info["ca_file"]
    with first.opened.store.read() as session:
        from sqlalchemy import select

        from visitdesk.desktop.models.schema import Patient

        mrns = list(session.scalars(select(Patient.mrn)))
    records = day_of_appointments(mrns, count, zone)
    started = time.perf_counter()
    staff.upsert_appointments(records, "bench-appointments")
    sent = time.perf_counter() - started
    total = lambda desk: desk.board.schedule_model.rowCount()  # noqa: E731
    assert wait_on_gui(app, lambda: all(total(d) >= count for d in desks), 120)
    pulled = time.perf_counter() - started
    print(
        f"{count:,} appointments today sent to the portal in {sent:.2f} s; "
        f"on all three boards {pulled:.2f} s after the send began"
    )

    # 2. I'm Here to the row, on three desks at once
    accounts = [(p["login"], p["password"], p["patient_ids"][0]) for p in creds["patients"]]
    tokens: dict[str, str] = {}
    for login, password, _ in accounts:
        answer = http.post(
            f"{info['url']}/api/patient/v1/sessions",
            json={"login": login, "password": password},
            timeout=10,
        )
        tokens[login] = answer.json()["access_token"]
    latencies: list[float] = []
    tapped: dict[str, float] = {}
    seen: set[tuple[int, str]] = set()
    arrived = threading.Event()
    failures: list[str] = []

    def watch(number: int, desk: Desk) -> None:
        def on_reset() -> None:
            for row in desk.board.model.rows:
                if row.id in tapped and (number, row.id) not in seen:
                    seen.add((number, row.id))
                    latencies.append(time.perf_counter() - tapped[row.id])
            if all((n, cid) in seen for n in range(3) for cid in tapped):
                arrived.set()

        desk.board.model.modelReset.connect(on_reset)

    for number, desk in enumerate(desks):
        watch(number, desk)
    stall = StallMeter()

    def tapper() -> None:
        for n in range(taps):
            login, _, patient_id = accounts[n % len(accounts)]
            arrived.clear()
            t0 = time.perf_counter()
            answer = http.post(
                f"{info['url']}/api/patient/v1/checkins",
                headers={"Authorization": f"Bearer {tokens[login]}"},
                json={"patient_id": patient_id},
                timeout=10,
            )
            if answer.status_code not in (200, 201):
                failures.append(f"tap {n}: HTTP {answer.status_code}")
                continue
            checkin_id = answer.json()["id"]
            tapped[checkin_id] = t0
            if not arrived.wait(10):
                failures.append(f"tap {n}: not on all three boards after 10 s")
            # Cancelled is not active, so the same patient's next tap is a new check-in.
            staff.set_checkin_status(checkin_id, CheckInStatus.CANCELLED, f"bench-{checkin_id}")
            threading.Event().wait(0.2)

    tapping = threading.Thread(target=tapper, daemon=True)
    tapping.start()
    wait_on_gui(app, lambda: not tapping.is_alive(), taps * 15)
    for failure in failures:
        print(failure)
    if latencies:
        print(
            f"I'm Here tap to row on three desks' boards ({len(tapped)} taps, "
            f"{len(latencies)} rows): p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
    print(f"longest GUI event-loop stall while taps arrived (three desks): {stall.longest:.0f} ms")
    stall.stop()

    # 3. the board's reload with the day's appointments
    store = first.opened.store
    start, end = first.ops.checkins.day_bounds(first.ops.session.today())
    reads: list[float] = []
    fills: list[float] = []
    board = first.board
    for _ in range(reloads):
        t0 = time.perf_counter()
        with store.read() as session:
            loaded = schedule.load_board(session, start, end)
        reads.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        board.model.set_rows(loaded.arrivals)
        board.schedule_model.set_rows(loaded.schedule)
        board.schedule_table.viewport().repaint()
        board.table.viewport().repaint()
        fills.append(time.perf_counter() - t0)
    filtered: list[float] = []
    for provider in PROVIDERS[:5]:
        t0 = time.perf_counter()
        with store.read() as session:
            schedule.load_board(session, start, end, schedule.BoardFilter(provider=provider))
        filtered.append(time.perf_counter() - t0)
    print(
        f"board reload with {len(loaded.schedule):,} appointments and {len(loaded.arrivals)} "
        f"arrivals: SQL read (off the GUI thread) p50 {statistics.median(reads) * 1000:.0f} ms, "
        f"p95 {percentile(reads, 95) * 1000:.0f} ms; models and repaint on the GUI thread "
        f"p50 {statistics.median(fills) * 1000:.0f} ms, p95 {percentile(fills, 95) * 1000:.0f} ms"
    )
    print(
        f"filtered by provider (SQL): p50 {statistics.median(filtered) * 1000:.0f} ms "
        f"({len(filtered)} providers)"
    )
    collector.stop()
    manager.client.close()
    manager.store.close()
    for desk in desks:
        desk.close()


if __name__ == "__main__":
    sys.exit(main())
