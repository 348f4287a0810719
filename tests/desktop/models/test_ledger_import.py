"""Ledger CSV import: all or nothing, line numbers, idempotent re-import; aging in SQL."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.billing_data import add_patients, ledger_rows, write_ledger_csv
from tests.sync.batches import records_of
from visitdesk.api.commands import UPSERT_LEDGER_COLUMNS
from visitdesk.api.wire_billing import AgingBuckets, LedgerColumns
from visitdesk.desktop.models import LocalStore, billing
from visitdesk.desktop.models.ledger_import import (
    LEDGER_UPLOAD_BATCH,
    import_ledger_csv,
    parse_amount,
)

HEADER = (
    "line_id,mrn,guarantor_mrn,type,service_date,posted_date,description,amount,responsibility\n"
)


def line_count(store: LocalStore) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(billing.LedgerLine)) or 0


def test_good_file_imports_and_queues_uploads_and_reimport_changes_nothing(
    store: LocalStore, tmp_path: Path
) -> None:
    mrns = add_patients(store, 60)
    rows = ledger_rows(mrns, date.today())
    path = write_ledger_csv(tmp_path / "ledger.csv", rows)
    seen: list[tuple[int, int]] = []
    report = import_ledger_csv(store, path, progress=lambda d, t: seen.append((d, t)))
    assert (
        report.ok
        and report.created == len(rows)
        and report.outbox_items == -(-len(rows) // LEDGER_UPLOAD_BATCH)
    )
    assert seen and seen[-1][0] == seen[-1][1] == 2 * len(rows)
    assert line_count(store) == len(rows)
    # The lines go up in columns, each line once, as the file has them.
    uploads = store.pending_outbox_items()
    assert {item.command for item in uploads} == {UPSERT_LEDGER_COLUMNS.name}
    batches = [LedgerColumns.model_validate(item.body) for item in uploads]
    assert [len(batch.external_id) for batch in batches[:-1]] == [LEDGER_UPLOAD_BATCH] * (
        len(batches) - 1
    )
    sent = {
        line.external_id: (line.mrn, line.description, line.amount_cents)
        for batch in batches
        for line in records_of(batch)
    }
    assert sent == {row[0]: (row[1], row[7], round(float(row[9]) * 100)) for row in rows}
    outbox_before = store.outbox_pending_count()

    again = import_ledger_csv(store, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(rows))
    assert again.outbox_items == 0 and store.outbox_pending_count() == outbox_before

    rows[0][9] = "999.99"
    changed = import_ledger_csv(store, write_ledger_csv(tmp_path / "l2.csv", rows))
    assert (changed.created, changed.updated) == (0, 1)


def test_bad_rows_are_listed_with_their_lines_and_nothing_is_saved(
    store: LocalStore, tmp_path: Path
) -> None:
    add_patients(store, 3)
    today = date.today().isoformat()
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + f"A1,G000000,,charge,{today},{today},Office visit,185.00,insurance\n"  # line 2: fine
        + f"A2,G000000,,charge,,{today},Visit,12.345,patient\n"  # 3: three decimals
        + f"A3,G000000,,charge,,{today},Visit,abc,patient\n"  # 4: not money
        + f"A4,NOPE,,charge,,{today},Visit,10.00,patient\n"  # 5: unknown MRN
        + f"A5,G000001,ZZZ,charge,,{today},Visit,10.00,patient\n"  # 6: unknown guarantor
        + f"A1,G000000,,charge,,{today},Visit,10.00,patient\n"  # 7: duplicate line id
        + f"A6,G000000,,payment,,{today},Check,25.00,patient\n"  # 8: positive payment
        + "A7,G000000,,refund,,2999-01-01,Visit,10.00,other\n"  # 9: type, date, resp.
        + f"A8,G000000,,charge,,{today},,10.00,patient\n",  # 10: no description
        encoding="utf-8",
    )
    report = import_ledger_csv(store, path)
    assert not report.ok
    assert [error.line for error in report.errors] == [3, 4, 5, 6, 7, 8, 9, 10]
    by_line = {error.line: error.reason for error in report.errors}
    assert "not an amount of money" in by_line[3] and "not an amount" in by_line[4]
    assert "no patient with MRN NOPE" in by_line[5]
    assert "ZZZ (guarantor_mrn)" in by_line[6]
    assert "appears twice (also on line 2)" in by_line[7]
    assert "payment must be a negative amount" in by_line[8]
    assert "charge, payment or adjustment" in by_line[9] and "future" in by_line[9]
    assert "description is required" in by_line[10]
    assert line_count(store) == 0 and store.outbox_pending_count() == 0


def test_missing_columns_and_wrong_encoding_reject_the_file(
    store: LocalStore, tmp_path: Path
) -> None:
    add_patients(store, 1)
    missing = tmp_path / "missing.csv"
    missing.write_text("line_id,mrn,posted_date,amount\nA1,G000000,2024-01-01,1.00\n")
    report = import_ledger_csv(store, missing)
    assert report.errors[0].line == 1
    assert "type, description" in report.errors[0].reason
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        (HEADER + "A1,G000000,,charge,,2024-01-02,Caf\xe9 visit,1.00,patient\n").encode("latin-1")
    )
    report = import_ledger_csv(store, latin)
    assert report.errors[0].line == 2 and "not UTF-8" in report.errors[0].reason
    assert line_count(store) == 0


def test_cancel_saves_nothing(store: LocalStore, tmp_path: Path) -> None:
    mrns = add_patients(store, 200)
    path = write_ledger_csv(tmp_path / "l.csv", ledger_rows(mrns, date.today()))
    cancel = threading.Event()
    cancel.set()
    report = import_ledger_csv(store, path, cancel=cancel)
    assert report.cancelled and line_count(store) == 0


def test_amounts_parse_like_a_spreadsheet_writes_them() -> None:
    assert parse_amount("185") == 18500
    assert parse_amount("$1,200.5") == 120050
    assert parse_amount("(25.00)") == -2500
    assert parse_amount("-$3.07") == -307


def test_sql_aging_matches_the_reference_and_filters_select_accounts(
    store: LocalStore, tmp_path: Path
) -> None:
    mrns = add_patients(store, 40)
    today = date.today()
    rows = ledger_rows(mrns, today)
    assert import_ledger_csv(store, write_ledger_csv(tmp_path / "l.csv", rows)).ok
    with store.read() as session:
        accounts = {a.guarantor_mrn: a for a in billing.accounts(session, today)}
        for mrn in mrns:
            mine = [r for r in rows if r[2] == mrn and r[10] == "patient"]
            expected = AgingBuckets.of_lines(
                ((date.fromisoformat(r[5]), round(float(r[9]) * 100)) for r in mine), today
            )
            assert accounts[mrn].aging == expected
            assert accounts[mrn].balance_cents == expected.total
        everyone = billing.preview(
            session, today, billing.StatementFilters(min_days_since_last=None)
        )
    assert everyone.count == sum(1 for a in accounts.values() if a.balance_cents >= 1)
    assert everyone.total_cents == sum(
        a.balance_cents for a in accounts.values() if a.balance_cents >= 1
    )

    with store.write() as uow:
        billing.place_hold(uow.session, mrns[0], "Disputed", "Bill")
    with store.read() as session:
        held = billing.preview(session, today, billing.StatementFilters(min_days_since_last=None))
        big = billing.preview(
            session,
            today,
            billing.StatementFilters(min_balance_cents=10**9, min_days_since_last=None),
        )
    assert held.count == everyone.count - 1 and big.count == 0
    assert today - timedelta(days=1) < today
