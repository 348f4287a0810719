"""Statement runs on a real local store: archive, history, cancel, reprint byte for byte."""

from __future__ import annotations

import io
import threading
from datetime import date
from pathlib import Path

import pypdf
import pytest

from tests.billing_data import PRACTICE, add_patients, ledger_rows, ready_settings, write_ledger_csv
from visitdesk.desktop.models import LocalStore, billing, outbox
from visitdesk.desktop.models.ledger_import import import_ledger_csv
from visitdesk.desktop.ops import statement_run


@pytest.fixture
def billed(tmp_path: Path):
    store = LocalStore.open(tmp_path / "data" / "store.sqlite3")
    store.set_practice(PRACTICE)
    mrns = add_patients(store, 30)
    path = write_ledger_csv(tmp_path / "l.csv", ledger_rows(mrns, date.today()))
    assert import_ledger_csv(store, path).ok
    try:
        yield store
    finally:
        store.close()


FILTERS = billing.StatementFilters(min_days_since_last=None)


def test_a_run_archives_each_statement_and_records_the_run(billed: LocalStore) -> None:
    with pytest.raises(statement_run.SettingsIncomplete):
        statement_run.generate_run(
            billed, filters=FILTERS, statement_date=date.today(), staff_name="B"
        )
    ready_settings(billed)
    today = date.today()
    with billed.read() as session:
        expected = billing.preview(session, today, FILTERS)
    seen: list[tuple[int, int]] = []
    result = statement_run.generate_run(
        billed,
        filters=FILTERS,
        statement_date=today,
        staff_name="Bill Clerk",
        progress=lambda d, t: seen.append((d, t)),
        processes=2,
    )
    assert (result.statement_count, result.total_cents) == (expected.count, expected.total_cents)
    assert seen[-1] == (expected.count, expected.count)
    combined = pypdf.PdfReader(result.combined_path)
    assert len(combined.pages) == result.page_count >= expected.count
    with billed.read() as session:
        runs = billing.runs(session)
        statements = billing.statements(session, run_id=result.run_id)
        again = billing.preview(session, today, billing.StatementFilters(min_days_since_last=25))
    assert [(r.created_by, r.statement_count) for r in runs] == [("Bill Clerk", expected.count)]
    assert runs[0].filters["min_days_since_last"] is None
    assert len(statements) == expected.count
    assert sum(s.amount_due_cents for s in statements) == expected.total_cents
    assert again.count == 0  # everyone was just billed
    # The run waits in the outbox for the portal's audit trail: counts, no patient data.
    with billed.read() as session:
        (queued,) = [i for i in outbox.pending_items(session) if i.command == "record_desk_event"]
    assert queued.body is not None
    assert (queued.body["run_id"], queued.body["statement_count"]) == (
        result.run_id,
        expected.count,
    )
    assert set(queued.body) == {
        "action",
        "occurred_at",
        "run_id",
        "statement_count",
        "statement_date",
    }

    first = statements[0]
    archived = statement_run.reprint(billed, first.id)
    assert archived[:5] == b"%PDF-"
    assert first.guarantor_mrn in pypdf.PdfReader(io.BytesIO(archived)).pages[0].extract_text()
    assert statement_run.reprint(billed, first.id) == archived  # byte for byte, every time
    # The reprint is the statement as sent, even after the ledger moved on.
    with billed.write() as uow:
        uow.session.execute(billing.LedgerLine.__table__.delete())
    assert statement_run.reprint(billed, first.id) == archived


def test_cancelling_a_run_records_nothing_and_leaves_no_files(billed: LocalStore) -> None:
    ready_settings(billed)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        cancel.set()

    with pytest.raises(statement_run.RunCancelled):
        statement_run.generate_run(
            billed,
            filters=FILTERS,
            statement_date=date.today(),
            staff_name="B",
            progress=progress,
            cancel=cancel,
        )
    with billed.read() as session:
        assert billing.runs(session) == [] and billing.statements(session) == []
    runs_dir = statement_run.archive_dir(billed) / "runs"
    assert not any(runs_dir.rglob("*.pdf"))


def test_tampered_archive_is_refused_on_reprint(billed: LocalStore) -> None:
    ready_settings(billed)
    made = statement_run.statement_for_patient(billed, "G000003", date.today(), "Front")
    assert statement_run.reprint(billed, made.statement_id) == made.pdf
    path = next((statement_run.archive_dir(billed) / "on-demand").glob("*.pdf"))
    path.write_bytes(made.pdf + b"%")
    with pytest.raises(statement_run.ArchiveDamaged):
        statement_run.reprint(billed, made.statement_id)
