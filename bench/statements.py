"""Statement-run benchmark: 10,000 statements with realistic ledgers, while a GUI stays responsive.

    QT_QPA_PLATFORM=offscreen python bench/statements.py [--statements 10000] [--processes 2]

Builds a local store with N guarantor accounts (patients plus ledgers imported from a generated
practice-system CSV), then runs a statement run on a worker thread exactly as the Statements screen
does, while a QTimer heartbeat on the GUI thread measures the longest event-loop stall. Prints
statements per second, total time, memory (peak RSS of this process and of the render processes,
tracemalloc peak of Python allocations, and RSS along the run to show it stays flat), and the stall.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel

from bench.sync import GcPauses, StallMeter, machine, settle_like_the_app
from tests.billing_data import (
    PRACTICE,
    add_patients,
    ledger_rows,
    ready_settings,
    write_ledger_csv,
)
from visitdesk.desktop.models import billing
from visitdesk.desktop.models.ledger_import import import_ledger_csv
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops import statement_run


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of this process (or `pid`) now, in MB."""
    try:
        status = Path(f"/proc/{pid or 'self'}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(f"machine: {machine()}")
    root = Path(tempfile.mkdtemp(prefix="visitdesk-statements-"))
    store = LocalStore.open(root / "store.sqlite3")
    store.set_practice(PRACTICE)
    today = date.today()
    mrns = add_patients(store, args.statements, prefix="B")
    rows = ledger_rows(mrns, today)
    csv_path = write_ledger_csv(root / "ledger.csv", rows)
    started = time.perf_counter()
    report = import_ledger_csv(store, csv_path)
    took = time.perf_counter() - started
    assert report.ok, report.errors[:3]
    print(
        f"import {len(rows):,} ledger lines for {len(mrns):,} accounts from CSV: {took:.2f} s "
        f"({len(rows) / took:,.0f} lines/s)"
    )
    ready_settings(store)
    filters = billing.StatementFilters()
    with store.read() as session:
        started = time.perf_counter()
        preview = billing.preview(session, today, filters)
        took = time.perf_counter() - started
    print(
        f"preview (aging of every account in SQL): {preview.count:,} statements, "
        f"{preview.total_cents / 100:,.2f} due, {took * 1000:.0f} ms"
    )

    app = QApplication([])
    window = QLabel("Statement run in progress")
    window.resize(600, 200)
    window.show()
    collector = settle_like_the_app()
    stall = StallMeter()
    gc_pauses = GcPauses()
    samples: list[tuple[int, float, float]] = []
    start_rss = rss_mb()
    outcome: dict[str, object] = {}

    def progress(done: int, total: int) -> None:
        children = [rss_mb(child.pid) for child in multiprocessing.active_children() if child.pid]
        samples.append((done, rss_mb(), max(children, default=0.0)))

    def work() -> None:
        tracemalloc.start()
        began = time.perf_counter()
        try:
            outcome["result"] = statement_run.generate_run(
                store,
                filters=filters,
                statement_date=today,
                staff_name="Benchmark",
                progress=progress,
                processes=args.processes,
            )
        except BaseException as error:  # reported below
            outcome["error"] = error
        outcome["seconds"] = time.perf_counter() - began
        outcome["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    worker = threading.Thread(target=work)
    QTimer.singleShot(100, worker.start)
    waiter = QTimer()
    waiter.setInterval(20)
    waiter.timeout.connect(lambda: None if worker.is_alive() or not outcome else app.quit())
    waiter.start()
    app.exec()
    stall.stop()
    collector.stop()
    if "error" in outcome:
        raise SystemExit(f"the run failed: {outcome['error']!r}")
    result = outcome["result"]
    seconds = float(outcome["seconds"])  # type: ignore[arg-type]
    assert isinstance(result, statement_run.RunResult)
    size = result.combined_path.stat().st_size / 1e6
    print(
        f"statement run: {result.statement_count:,} statements ({result.page_count:,} pages) in "
        f"{seconds:.1f} s = {result.statement_count / seconds:,.0f} statements/s "
        f"on {args.processes} render processes; combined PDF {size:,.0f} MB"
    )
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    traced = int(outcome["traced_peak"]) / 1e6  # type: ignore[call-overload]
    print(
        f"memory: RSS before the run {start_rss:,.0f} MB (the store and the CSV import), peak RSS "
        f"of the process {self_peak:,.0f} MB, Python allocations during the run {traced:,.1f} MB "
        f"peak (tracemalloc), largest render process {max(s[2] for s in samples):,.0f} MB RSS"
    )
    if samples:
        marks = [samples[int(len(samples) * f) - 1] for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
        along = ", ".join(f"{done:,}: {mb:,.0f}/{child:,.0f} MB" for done, mb, child in marks)
        print(f"RSS along the run (statements done: main/render process): {along}")
    print(
        f"longest GUI event-loop stall during the run: {stall.longest:.0f} ms "
        f"(longest garbage-collector pause {gc_pauses.longest:.0f} ms)"
    )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
