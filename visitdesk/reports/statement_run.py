"""Statement runs: select accounts, render their statements, archive them, record the run.

A run streams: accounts are read from the store a few hundred at a time, rendered on a pool of
worker processes (reportlab is pure Python, so processes, not threads, use both cores), and each
finished PDF is written to the archive and appended to the combined print file at once. Memory
stays flat whatever the count. Only when every statement exists are the run and its statements
recorded, in one transaction; cancelling (or any failure) deletes the run's files and records
nothing.

Call it from a worker thread: it blocks until done, reports `progress(done, total)` and stops at the
next chunk once `cancel` is set.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import shutil
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, timedelta
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from visitdesk.desktop.models import billing
from visitdesk.desktop.models.billing import AccountRow, StatementFilters, StatementSettings
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.schema import Patient
from visitdesk.desktop.models.store import LocalStore
from visitdesk.reports.address import mailing_lines
from visitdesk.reports.pdf_concat import PdfConcatenator
from visitdesk.reports.statement import (
    PracticeHeader,
    StatementData,
    StatementLine,
    money,
    page_count,
    render_statement,
    us_date,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

#: Statements per task sent to a worker process, and tasks in flight per process.
CHUNK = 24
IN_FLIGHT_PER_PROCESS = 3
#: Below this many statements a run renders in its own thread (starting processes costs more).
POOL_THRESHOLD = 150


class RunCancelled(Exception):
    """The run was cancelled; nothing was recorded."""


class SettingsIncomplete(Exception):
    """The statement settings lack what every statement must carry (the remit-to address)."""


@dataclass(frozen=True)
class RunResult:
    run_id: int
    statement_count: int
    total_cents: int
    combined_path: Path
    page_count: int


def _background_priority() -> None:
    """Render processes yield the CPU to the desk: a busy run must not make the window stutter.

    With two render processes on a two-core workstation the GUI thread would otherwise wait its
    turn behind them for whole scheduler slices.
    """
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(10)


def archive_dir(store: LocalStore) -> Path:
    """Where statements are archived: beside the local database."""
    return Path(store.path).parent / "statements"


def load_settings(store: LocalStore) -> StatementSettings:
    practice = store.practice()
    with store.read() as session:
        return billing.load_settings(
            session,
            practice.name if practice else "",
            practice.portal_url if practice else "",
        )


def practice_header(settings: StatementSettings) -> PracticeHeader:
    return PracticeHeader(
        name=settings.practice_name,
        address_lines=tuple(settings.practice_address),
        phone=settings.practice_phone,
        billing_phone=settings.billing_phone,
        pay_url=settings.pay_url,
        remit_to=tuple(settings.remit_to),
    )


def _address(patient: Any) -> tuple[str, ...]:
    if patient is None:
        return ()
    return mailing_lines(
        patient.address_line1, patient.address_line2, patient.city, patient.state, patient.postal_code
    )


def build_statement(
    session: Session,
    account: AccountRow,
    settings: StatementSettings,
    header: PracticeHeader,
    statement_date: date,
) -> StatementData:
    """Everything one account's statement shows, read from the store."""
    guarantor = session.scalar(select(Patient).where(Patient.mrn == account.guarantor_mrn))
    rows = [
        (
            account.guarantor_mrn,
            r.posted_date,
            r.service_date,
            r.code,
            r.description,
            r.provider,
            r.amount_cents,
            r.patient_mrn,
            r.first_name,
            r.last_name,
        )
        for r in billing.patient_lines(session, account.guarantor_mrn, None, statement_date)
    ]
    return _statement_from(account, rows, guarantor, settings, header, statement_date)


def _release(items: list[Any]) -> None:
    """Free a large list a slice at a time.

    Dropping ten thousand statements' worth of objects in one go is one long C call that keeps
    the interpreter lock, and the desk's window would freeze for it; slices let it breathe.
    """
    while items:
        del items[-500:]


def _render_chunk(chunk: list[StatementData]) -> list[tuple[bytes, int]]:
    return [(render_statement(data), page_count(data)) for data in chunk]


def _chunks(items: Iterable[StatementData], size: int) -> Iterator[list[StatementData]]:
    batch: list[StatementData] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Renderer:
    """Renders chunks in order, on worker processes or (small runs) in this thread."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pool: Pool | None = None
        if processes > 0:
            self.pool = multiprocessing.get_context("spawn").Pool(
                processes, initializer=_background_priority
            )

    def results(
        self, chunks: Iterator[list[StatementData]], cancel: threading.Event | None
    ) -> Iterator[list[tuple[bytes, int]]]:
        if self.pool is None:
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    raise RunCancelled
                yield _render_chunk(chunk)
            return
        pending: deque[AsyncResult[list[tuple[bytes, int]]] | Future[Any]] = deque()
        limit = self.processes * IN_FLIGHT_PER_PROCESS
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                pending.append(self.pool.apply_async(_render_chunk, (chunk,)))
            if not pending:
                return
            if cancel is not None and cancel.is_set():
                raise RunCancelled
            result = pending.popleft()
            yield result.get()  # type: ignore[union-attr]

    def close(self, *, abort: bool) -> None:
        if self.pool is None:
            return
        if abort:
            self.pool.terminate()
        else:
            self.pool.close()
        self.pool.join()


def generate_run(
    store: LocalStore,
    *,
    filters: StatementFilters,
    statement_date: date,
    staff_name: str,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    processes: int | None = None,
) -> RunResult:
    """Produce and record a statement run. Raises RunCancelled when `cancel` was set."""
    settings = load_settings(store)
    if not settings.ready:
        raise SettingsIncomplete("Set the remit-to address in the statement settings first.")
    header = practice_header(settings)
    with store.read() as session:
        expected = billing.preview(session, statement_date, filters).count
    if expected == 0:
        raise ValueError("No account matches these filters.")
    if processes is None:
        processes = 0 if expected < POOL_THRESHOLD else min(2, multiprocessing.cpu_count())
    folder_name = f"{statement_date:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    folder = archive_dir(store) / "runs" / folder_name
    folder.mkdir(parents=True, exist_ok=False)
    renderer = _Renderer(processes)
    combined: PdfConcatenator | None = None
    records: list[dict[str, Any]] = []
    total = 0
    aborted = True
    try:
        combined_path = folder / "combined.pdf"
        combined = PdfConcatenator(combined_path, f"Statements {statement_date.isoformat()}")
        with store.read() as session:
            accounts = list(billing.iter_accounts(session, statement_date, filters))
        data_stream = _data_stream(store, accounts, settings, header, statement_date)
        done = 0
        now = utcnow()
        for results in renderer.results(_chunks(data_stream, CHUNK), cancel):
            for pdf, pages in results:
                account = accounts[done]
                name = f"{account.guarantor_mrn}.pdf"
                (folder / name).write_bytes(pdf)
                combined.add(pdf)
                total += account.balance_cents
                records.append(
                    {
                        "guarantor_mrn": account.guarantor_mrn,
                        "statement_date": statement_date,
                        "due_date": statement_date + timedelta(days=settings.due_days),
                        "amount_due_cents": account.aging.total,
                        "page_count": pages,
                        "created_at": now,
                        "created_by": staff_name,
                        "pdf_path": f"runs/{folder_name}/{name}",
                        "sha256": hashlib.sha256(pdf).hexdigest(),
                    }
                )
                done += 1
            if progress is not None:
                progress(done, len(accounts))
        combined.close()
        if cancel is not None and cancel.is_set():
            raise RunCancelled
        with store.write() as uow:
            run = billing.StatementRun(
                created_at=now,
                created_by=staff_name,
                statement_date=statement_date,
                filters=filters.to_json(),
                statement_count=len(records),
                total_cents=total,
                combined_path=f"runs/{folder_name}/combined.pdf",
                combined_sha256=billing.sha256_of(combined_path),
            )
            uow.session.add(run)
            uow.session.flush()
            for record in records:
                record["run_id"] = run.id
            for start in range(0, len(records), 2000):
                uow.session.execute(insert(billing.Statement), records[start : start + 2000])
            run_id = run.id
        aborted = False
        log.info("statement run %s recorded: %d statements", run_id, len(records))
        result = RunResult(run_id, len(records), total, combined_path, combined.page_count)
        data_stream.close()
        _release(records)
        _release(accounts)
        return result
    finally:
        renderer.close(abort=aborted)
        if aborted and combined is not None:
            combined.discard()
        if aborted:
            shutil.rmtree(folder, ignore_errors=True)


_LINES_SQL = """
SELECT l.guarantor_mrn, l.posted_date, l.service_date, l.code, l.description, l.provider,
       l.amount_cents, l.patient_mrn, p.first_name, p.last_name
FROM ledger_lines l LEFT JOIN patients p ON p.mrn = l.patient_mrn
WHERE l.responsibility = 'patient' AND l.posted_date <= ?
ORDER BY l.guarantor_mrn, l.posted_date, l.amount_cents DESC, l.id
"""
_GUARANTORS_SQL = """
SELECT mrn, first_name, last_name, address_line1, address_line2, city, state, postal_code
FROM patients WHERE mrn IN ({marks})
"""


@dataclass(frozen=True)
class _Guarantor:
    first_name: str
    last_name: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str


def _data_stream(
    store: LocalStore,
    accounts: list[AccountRow],
    settings: StatementSettings,
    header: PracticeHeader,
    statement_date: date,
) -> Iterator[StatementData]:
    """The accounts' statements, from two sequential reads (accounts and lines both in guarantor
    order) instead of queries per account: a large run spends its time rendering, not asking."""
    with store.read() as session:
        connection = session.connection()
        guarantors: dict[str, _Guarantor] = {}
        mrns = [account.guarantor_mrn for account in accounts]
        for start in range(0, len(mrns), 900):
            part = mrns[start : start + 900]
            sql = _GUARANTORS_SQL.format(marks=", ".join("?" * len(part)))
            for mrn, *fields in connection.exec_driver_sql(sql, tuple(part)):
                guarantors[mrn] = _Guarantor(*(field or "" for field in fields))
        lines = connection.exec_driver_sql(_LINES_SQL, (statement_date.isoformat(),))
        row = lines.fetchone()
        for account in accounts:
            while row is not None and row[0] < account.guarantor_mrn:
                row = lines.fetchone()
            mine: list[Any] = []
            while row is not None and row[0] == account.guarantor_mrn:
                mine.append(row)
                row = lines.fetchone()
            yield _statement_from(
                account,
                mine,
                guarantors.get(account.guarantor_mrn),
                settings,
                header,
                statement_date,
            )


def _statement_from(
    account: AccountRow,
    rows: list[Any],
    guarantor: Any,
    settings: StatementSettings,
    header: PracticeHeader,
    statement_date: date,
) -> StatementData:
    last = account.last_statement_date
    if last is not None and last >= statement_date:
        last = None  # a second statement the same day repeats the whole period
    previous = 0
    items: list[StatementLine] = []
    for _g, posted, service, code, description, provider, amount, mrn, first, family in rows:
        posted_day = date.fromisoformat(posted) if isinstance(posted, str) else posted
        if last is not None and posted_day <= last:
            previous += int(amount)
            continue
        items.append(
            StatementLine(
                posted=posted_day,
                service=date.fromisoformat(service) if isinstance(service, str) else service,
                patient=f"{first or ''} {family or ''}".strip() or mrn,
                description=(f"{code} " if code and code.isdigit() else "") + description,
                provider=provider or "",
                amount_cents=int(amount),
            )
        )
    due = statement_date + timedelta(days=settings.due_days)
    name = (
        f"{guarantor.first_name} {guarantor.last_name}"
        if guarantor is not None
        else f"Account {account.guarantor_mrn}"
    )
    values = {
        "practice": settings.practice_name,
        "amount_due": money(max(0, account.aging.total)),
        "due_date": us_date(due),
        "billing_phone": settings.billing_phone or settings.practice_phone,
        "credit": money(max(0, -account.aging.total)),
        "account": account.guarantor_mrn,
    }
    oldest = account.aging.oldest_due()
    return StatementData(
        practice=header,
        account=account.guarantor_mrn,
        guarantor_name=name,
        address_lines=_address(guarantor),
        statement_date=statement_date,
        due_date=due,
        previous_balance_cents=previous,
        previous_statement_date=last,
        lines=tuple(items),
        aging=account.aging,
        pending_insurance_cents=account.pending_insurance_cents,
        message=billing.fill_template(settings.message_for(account.aging), values),
        alert=oldest in ("days_91_120", "over_120"),
    )


# --------------------------------------------------------------------------- single statements


@dataclass(frozen=True)
class OnDemandStatement:
    statement_id: int
    guarantor_mrn: str
    pdf: bytes


def statement_for_patient(
    store: LocalStore, patient_mrn: str, statement_date: date, staff_name: str
) -> OnDemandStatement:
    """The statement of the account the patient is on, produced now and archived like a run's."""
    settings = load_settings(store)
    if not settings.ready:
        raise SettingsIncomplete("Set the remit-to address in the statement settings first.")
    with store.read() as session:
        guarantor = billing.guarantor_of(session, patient_mrn)
        account = billing.account_aging(session, guarantor, statement_date)
        if account is None:
            raise LookupError(f"No ledger lines for account {guarantor}.")
        data = build_statement(
            session, account, settings, practice_header(settings), statement_date
        )
    pdf = render_statement(data)
    folder = archive_dir(store) / "on-demand"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{guarantor}-{statement_date:%Y%m%d}-{uuid.uuid4().hex[:8]}.pdf"
    (folder / name).write_bytes(pdf)
    with store.write() as uow:
        row = billing.Statement(
            run_id=None,
            guarantor_mrn=guarantor,
            statement_date=statement_date,
            due_date=data.due_date,
            amount_due_cents=account.aging.total,
            page_count=page_count(data),
            created_at=utcnow(),
            created_by=staff_name,
            pdf_path=f"on-demand/{name}",
            sha256=hashlib.sha256(pdf).hexdigest(),
        )
        uow.session.add(row)
        uow.session.flush()
        statement_id = row.id
    return OnDemandStatement(statement_id, guarantor, pdf)


class ArchiveDamaged(Exception):
    """An archived PDF is missing or no longer matches the hash recorded when it was sent."""


def _archived(store: LocalStore, relative: str, expected_sha: str) -> bytes:
    path = archive_dir(store) / relative
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ArchiveDamaged(f"The archived file {relative} cannot be read.") from error
    if hashlib.sha256(data).hexdigest() != expected_sha:
        raise ArchiveDamaged(f"The archived file {relative} was changed after it was sent.")
    return data


def reprint(store: LocalStore, statement_id: int) -> bytes:
    """The statement exactly as it was sent (byte for byte), after checking its hash."""
    with store.read() as session:
        row = billing.statement_row(session, statement_id)
    if row is None:
        raise LookupError("No such statement.")
    return _archived(store, row.pdf_path, row.sha256)


def run_pdf(store: LocalStore, run_id: int) -> Path:
    """The combined print file of a run, checked against its recorded hash."""
    with store.read() as session:
        run = billing.run_row(session, run_id)
    if run is None:
        raise LookupError("No such statement run.")
    _check_file(archive_dir(store) / run.combined_path, run.combined_sha256)
    return archive_dir(store) / run.combined_path


def _check_file(path: Path, expected: str) -> None:
    try:
        actual = billing.sha256_of(path)
    except OSError as error:
        raise ArchiveDamaged(f"The archived file {path.name} cannot be read.") from error
    if actual != expected:
        raise ArchiveDamaged(f"The archived file {path.name} was changed after it was made.")
