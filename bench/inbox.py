"""Inbox benchmark: the Messages screen over 100,000 messages, and message delivery latency.

    QT_QPA_PLATFORM=offscreen python bench/inbox.py [--messages 100000] [--samples 30]

Runs the real portal as a separate process over loopback TLS and a real workstation in this
process (store, sync engine, Messages screen). The workstation's store is filled with N messages
in N/10 threads by applying feed items through the desk's own appliers (the path a first sync
takes), so the screen's figures are those of a desk that holds N messages. Prints:

1. time to open the Messages screen (built, first pool listed with its counts);
2. scrolling the thread list from top to bottom, page by page (time to paint each page);
3. searching every message (FTS5) for a common word, a rare word and a prefix, until shown;
4. delivery latency over the real portal: a patient's message until it is in the desk's list,
   and a desk reply (outbox, push) until the patient's long-poll returns it; p50 and p95.
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
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
import sync as sync_bench

from visitdesk.api.wire import ChangeItem
from visitdesk.desktop.app import build_ops
from visitdesk.desktop.models.feed import apply_changes
from visitdesk.desktop.models.messages import Pool
from visitdesk.desktop.models.schema import Patient
from visitdesk.desktop.sync_bridge import SyncBridge
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.desktop.views.messages import MessagesView
from visitdesk.sync.engine import SyncEngine

WORDS = [
    "appointment",
    "friday",
    "monday",
    "refill",
    "pharmacy",
    "insurance",
    "card",
    "bill",
    "payment",
    "question",
    "results",
    "lab",
    "fever",
    "cough",
    "allergy",
    "dose",
    "morning",
    "evening",
    "please",
    "thanks",
    "call",
    "back",
    "reschedule",
    "cancel",
    "arrive",
    "parking",
    "waiting",
    "room",
    "form",
    "copay",
    "deductible",
    "referral",
]
TOPICS = ("appointment", "billing", "prescription_refill", "medical_question", "other")
PAGE = 5_000


def wait_until(done: Callable[[], bool], timeout: float = 30.0) -> float:
    """Run the Qt event loop until `done()`; the seconds it took."""
    started = time.perf_counter()
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(
        lambda: loop.quit() if done() or time.perf_counter() - started > timeout else None
    )
    timer.start()
    if not done():
        loop.exec()
    timer.stop()
    if not done():
        raise SystemExit(f"timed out after {timeout:.0f} s")
    return time.perf_counter() - started


def fill_store(store: Any, messages: int, seed: int = 11) -> int:
    """Apply `messages` synthetic messages (10 per thread) through the desk's feed appliers."""
    rng = random.Random(seed)
    with store.read() as session:
        patients = list(
            session.scalars(select(Patient.portal_id).where(Patient.portal_id.is_not(None)))
        )
    start = datetime.now(UTC) - timedelta(days=90)
    items: list[ChangeItem] = []
    seq = 10**9  # above the real feed's numbers; the appliers do not store it
    threads = messages // 10
    for t in range(threads):
        thread_id = f"bench-t{t}"
        when = start + timedelta(minutes=t * 90 * 24 * 60 / threads)
        count = 10
        for n in range(1, count + 1):
            seq += 1
            patient_side = n % 2 == 1
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30)))
            items.append(
                ChangeItem(
                    seq=seq,
                    kind="thread_message",
                    op="upsert",
                    id=f"bench-m{t}-{n}",
                    data={
                        "id": f"bench-m{t}-{n}",
                        "thread_id": thread_id,
                        "number": n,
                        "author_kind": "patient" if patient_side else "staff",
                        "author_name": "Patient" if patient_side else "Front Desk",
                        "body": body + (f" zebra{t}" if t % 1000 == 0 else ""),
                        "created_at": (when + timedelta(minutes=n)).isoformat(),
                    },
                )
            )
        seq += 1
        read = count if rng.random() < 0.9 else count - 1
        items.append(
            ChangeItem(
                seq=seq,
                kind="thread",
                op="upsert",
                id=thread_id,
                data={
                    "id": thread_id,
                    "patient_id": rng.choice(patients),
                    "topic": rng.choice(TOPICS),
                    "subject": "",
                    "status": "open" if rng.random() < 0.3 else "closed",
                    "created_at": when.isoformat(),
                    "last_message_at": (when + timedelta(minutes=count)).isoformat(),
                    "last_number": count,
                    "last_patient_number": count - 1,
                    "last_staff_number": count,
                    "staff_read_number": read,
                    "patient_read_number": count,
                },
            )
        )
        if len(items) >= PAGE:
            with store.write() as uow:
                apply_changes(uow.session, items)
            items = []
    if items:
        with store.write() as uow:
            apply_changes(uow.session, items)
    return threads


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(tempfile.mkdtemp(prefix="visitdesk-bench-"))
    print(f"machine: {sync_bench.machine()}")
    load = os.getloadavg()[0]
    print(f"load average when started: {load:.1f} (figures on a loaded machine are upper bounds)")
    proc, info, creds = sync_bench.start_portal(root)
    try:
        run(root, info, creds, args.messages, args.samples)
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


def run(
    root: Path, info: dict[str, Any], creds: dict[str, Any], messages: int, samples: int
) -> None:
    app = QApplication.instance() or QApplication([])
    desk = sync_bench.open_desk(root, "desk", info, creds)
    bridge = SyncBridge()
    engine = SyncEngine(desk.client, desk.store, wait_seconds=5, listener=bridge)
    engine.pull_once()
    started = time.perf_counter()
    threads = fill_store(desk.store, messages)
    print(
        f"store filled: {messages:,} messages in {threads:,} threads ({time.perf_counter() - started:.1f} s)"
    )
    runner = TaskRunner()
    ops = build_ops(
        runner, desk.store, engine, bridge, desk.staff, desk.practice, client=desk.client
    )

    # 1. open the screen
    started = time.perf_counter()
    view = MessagesView(ops)
    view.resize(1080, 760)
    view.show()
    bridge.changed.connect(view.on_sync_changed)
    wait_until(lambda: view.model.rowCount() > 0 and not view._reload.loading)
    print(
        f"open the Messages screen (Unassigned listed, all counts): {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    view.show_pool(Pool.CLOSED)
    wait_until(lambda: view.heading.text() == "Closed" and not view._reload.loading)
    print(f"  Closed pool: {view.model.rowCount():,} rows listed (newest first)")

    # 2. scroll top to bottom
    bar = view.table.verticalScrollBar()
    pages: list[float] = []
    bar.setValue(0)
    while True:
        t0 = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        view.table.viewport().repaint()
        pages.append(time.perf_counter() - t0)
        if bar.value() >= bar.maximum():
            break
    print(
        f"scroll {view.model.rowCount():,} rows, {len(pages)} pages: p50 "
        f"{statistics.median(pages) * 1000:.1f} ms, p95 {sync_bench.percentile(pages, 95) * 1000:.1f} ms per page"
    )

    # 3. search
    for query in ("pharmacy", "zebra1000", "resch", "insurance card copay"):
        t0 = time.perf_counter()
        view.search.setText(query)
        view._search_now()
        wait_until(
            lambda q=query: (
                view.heading.text().endswith(f"\u201c{q}\u201d") and not view._reload.loading
            )
        )
        print(
            f"search \u201c{query}\u201d: {(time.perf_counter() - t0) * 1000:.0f} ms "
            f"({view.model.rowCount():,} threads shown)"
        )
    view.search.setText("")
    view._search_now()

    # 4. delivery latency
    engine.start()
    http = requests.Session()
    http.trust_env = False
    http.verify = info["ca_file"]
    account = creds["patients"][0]
    token = http.post(
        f"{info['url']}/api/patient/v1/sessions",
        json={"login": account["login"], "password": account["password"]},
        timeout=10,
    ).json()["access_token"]
    patient = {"Authorization": f"Bearer {token}"}
    started_thread = http.post(
        f"{info['url']}/api/patient/v1/threads",
        json={"patient_id": account["patient_ids"][0], "topic": "other", "body": "Latency thread"},
        headers={**patient, "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    ).json()
    thread_id = started_thread["id"]
    view.show_pool(Pool.UNASSIGNED)
    inbound: list[float] = []
    for n in range(samples):
        marker = f"ping{n}x{uuid.uuid4().hex[:6]}"
        t0 = time.perf_counter()
        http.post(
            f"{info['url']}/api/patient/v1/threads/{thread_id}/messages",
            json={"body": f"Patient message {marker}"},
            headers=patient,
            timeout=10,
        ).raise_for_status()
        wait_until(lambda m=marker: any(m in r.preview for r in view.model.rows), timeout=15)
        inbound.append(time.perf_counter() - t0)
    outbound: list[float] = []
    last = http.get(
        f"{info['url']}/api/patient/v1/threads/{thread_id}", headers=patient, timeout=10
    ).json()["last_number"]
    for n in range(samples):
        marker = f"pong{n}x{uuid.uuid4().hex[:6]}"
        got = threading.Event()
        seen: dict[str, int] = {"after": last}

        def poll(m: str = marker, got: threading.Event = got, seen: dict[str, int] = seen) -> None:
            while not got.is_set():
                page = http.get(
                    f"{info['url']}/api/patient/v1/threads/{thread_id}/messages",
                    params={"after": seen["after"], "wait": 10},
                    headers=patient,
                    timeout=20,
                ).json()
                for message in page["messages"]:
                    seen["after"] = max(seen["after"], message["number"])
                    if m in message["body"]:
                        got.set()

        t0 = time.perf_counter()
        ops.messages.reply(thread_id, f"Desk reply {marker}").run()
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        wait_until(got.is_set, timeout=15)
        outbound.append(time.perf_counter() - t0)
        poller.join(5)
        last = seen["after"]
    for name, values in (
        ("patient -> desk list", inbound),
        ("desk reply -> patient app", outbound),
    ):
        print(
            f"delivery {name} ({len(values)}): p50 {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {sync_bench.percentile(values, 95) * 1000:.0f} ms"
        )

    engine.stop()
    runner.shutdown()
    view.close()
    desk.client.close()
    desk.store.close()
    del app


if __name__ == "__main__":
    raise SystemExit(main())
