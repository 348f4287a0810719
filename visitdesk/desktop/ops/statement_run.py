"""Statement runs: select accounts, render their statements, archive them, record the run.

A run streams: accounts are read from the store a few hundred at a time, rendered on a pool of
worker processes (`visitdesk.reports.render_pool`), and each finished PDF is written to the archive
and appended to the combined print file at once. Memory stays flat whatever the count. Only when
every statement exists are the run and its statements recorded, in one transaction; cancelling (or
any failure) deletes the run's files and records nothing.

A run and a statement made on demand gather their data through the same store function,
`billing.statement_data.statement_data`. These are operations: they open the store's read and write
transactions themselves. Blocking; `visitdesk.desktop.ops.billing` runs them off the GUI thread.
A run reports `progress(done, total)` and stops at the next chunk once `cancel` is set.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from visitdesk.api.commands import RECORD_DESK_EVENT
from visitdesk.api.wire_audit import DeskEvent
from visitdesk.desktop.models import billing
from visitdesk.desktop.models.billing.archive import record_run, record_statement
from visitdesk.desktop.models.billing.statement_data import statement_data
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.store import LocalStore
from visitdesk.reports.pdf_concat import PdfConcatenator
from visitdesk.reports.render_pool import RenderCancelled, Renderer, chunks
from visitdesk.reports.statement import page_count, render_statement

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

#: Below this many statements a run renders in its own thread (starting processes costs more).
POOL_THRESHOLD = 150


#: The run was cancelled; nothing was recorded. (The renderer stops with it at the next chunk.)
RunCancelled = RenderCancelled


class SettingsIncomplete(Exception):
    """The statement settings lack what every statement must carry (the remit-to address)."""


@dataclass(frozen=True)
class RunResult:
    run_id: int
    statement_count: int
    total_cents: int
    combined_path: Path
    page_count: int


def archive_dir(store: LocalStore) -> Path:
    """Where statements are archived: beside the local database."""
    return Path(store.path).parent / "statements"


def load_settings(store: LocalStore) -> billing.StatementSettings:
    practice = store.practice()
    with store.read() as session:
        return billing.load_settings(
            session,
            practice.name if practice else "",
            practice.portal_url if practice else "",
        )


def _release(items: list[Any]) -> None:
    """Free a large list a slice at a time.

    Dropping ten thousand statements' worth of objects in one go is one long C call that keeps
    the interpreter lock, and the desk's window would freeze for it; slices let it breathe.
    """
    while items:
        del items[-500:]


def generate_run(
    store: LocalStore,
    *,
    filters: billing.StatementFilters,
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
    with store.read() as session:
        expected = billing.preview(session, statement_date, filters).count
    if expected == 0:
        raise ValueError("No account matches these filters.")
    if processes is None:
        processes = 0 if expected < POOL_THRESHOLD else min(2, multiprocessing.cpu_count())
    folder_name = f"{statement_date:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    folder = archive_dir(store) / "runs" / folder_name
    folder.mkdir(parents=True, exist_ok=False)
    renderer = Renderer(processes)
    combined: PdfConcatenator | None = None
    records: list[dict[str, Any]] = []
    total = 0
    aborted = True
    try:
        combined_path = folder / "combined.pdf"
        combined = PdfConcatenator(combined_path, f"Statements {statement_date.isoformat()}")
        now = utcnow()
        with store.read() as session:
            # One snapshot for the accounts and their lines; it stays open while they render.
            accounts = list(billing.iter_accounts(session, statement_date, filters))
            stream = statement_data(session, accounts, settings, statement_date)
            done = 0
            for results in renderer.results(chunks(stream), cancel):
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
            stream.close()
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
            run_id = record_run(uow.session, run, records)
            # The run goes on the portal's audit trail through the outbox (offline too).
            uow.enqueue(
                RECORD_DESK_EVENT,
                {},
                DeskEvent(
                    action="statement.run",
                    occurred_at=now,
                    run_id=run_id,
                    statement_count=len(records),
                    statement_date=statement_date,
                ),
                f"Statement run {run_id} to the audit trail",
            )
        aborted = False
        log.info("statement run %s recorded: %d statements", run_id, len(records))
        result = RunResult(run_id, len(records), total, combined_path, combined.page_count)
        _release(records)
        _release(accounts)
        return result
    finally:
        renderer.close(abort=aborted)
        if aborted and combined is not None:
            combined.discard()
        if aborted:
            shutil.rmtree(folder, ignore_errors=True)


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
        (data,) = statement_data(session, [account], settings, statement_date)
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
        statement_id = record_statement(uow.session, row)
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
