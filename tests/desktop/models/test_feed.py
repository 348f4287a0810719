from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.desktop.models.factories import (
    T0,
    appointment_item,
    checkin_item,
    delete_item,
    patient_item,
    write_csv,
)
from tests.sync.batches import BATCH_KINDS, batch_data, line_data
from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_feed import read_page
from visitdesk.desktop.models import LocalStore, import_patients_csv
from visitdesk.desktop.models.billing.tables import LedgerLine
from visitdesk.desktop.models.schema import Appointment, Patient


def _patients(store: LocalStore) -> list[tuple[Any, ...]]:
    with store.read() as s:
        rows = s.execute(
            select(Patient.portal_id, Patient.mrn, Patient.first_name).order_by(Patient.mrn)
        )
        return [tuple(r) for r in rows]


def _dump(store: LocalStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (without local integer ids), for comparing whole states."""
    result = {}
    with store.engine.connect() as conn:
        for table in ("patients", "appointments", "checkins", "sync_state"):
            rows = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table}")]
            if table in ("patients", "appointments"):
                rows = [r[1:] for r in rows]
            if table == "sync_state":
                rows = [r for r in rows if r[0] != "last_sync_at"]
            result[table] = sorted(rows, key=repr)
    return result


def test_empty_store_has_seq_zero(store: LocalStore) -> None:
    assert store.last_seq() == 0
    assert store.last_sync_at() is None


def test_page_is_applied_with_its_last_seq(store: LocalStore) -> None:
    kinds = store.apply_changes(
        [patient_item(1, "P1", "M1"), checkin_item(2, "C1", "P1")], last_seq=7
    )
    assert kinds == {"patient", "checkin"}
    assert store.last_seq() == 7
    assert store.last_sync_at() is not None
    assert _patients(store) == [("P1", "M1", "Ann")]
    assert store.checkin_count() == 1


def test_applying_a_page_twice_is_the_same_as_once(store: LocalStore) -> None:
    page = [
        patient_item(1, "P1", "M1"),
        patient_item(2, "P2", "M2", first="Bo"),
        appointment_item(3, "A1", "EXT1", "M1", "P1"),
        checkin_item(4, "C1", "P1", appointment_id="A1"),
        patient_item(5, "P1", "M1", first="Anna"),
    ]
    store.apply_changes(page, 5)
    once = _dump(store)
    store.apply_changes(page, 5)
    assert _dump(store) == once
    assert _patients(store) == [("P1", "M1", "Anna"), ("P2", "M2", "Bo")]


def test_last_item_per_record_wins_even_out_of_order(store: LocalStore) -> None:
    store.apply_changes([patient_item(9, "P1", "M1", first="Late"), patient_item(3, "P1", "M1")], 9)
    assert _patients(store) == [("P1", "M1", "Late")]


def test_delete_removes_the_record(store: LocalStore) -> None:
    store.apply_changes([patient_item(1, "P1", "M1"), checkin_item(2, "C1", "P1")], 2)
    store.apply_changes([delete_item(3, "patient", "P1"), delete_item(4, "checkin", "C1")], 4)
    assert store.patient_count() == 0
    assert store.checkin_count() == 0
    # Deleting what is already gone is fine (idempotent).
    store.apply_changes([delete_item(3, "patient", "P1")], 4)


def test_locally_imported_patient_gets_its_portal_id(store: LocalStore, tmp_path: Path) -> None:
    csv = write_csv(
        tmp_path / "p.csv", "mrn,first_name,last_name,date_of_birth\nM1,Ann,Lee,1980-01-02\n"
    )
    assert import_patients_csv(store, csv).created == 1
    store.apply_changes([patient_item(1, "P1", "M1", first="Ann")], 1)
    assert _patients(store) == [("P1", "M1", "Ann")]
    assert store.unsynced_patient_count() == 0


def test_imported_duplicate_of_a_known_portal_patient_is_merged(
    store: LocalStore, tmp_path: Path
) -> None:
    store.apply_changes([patient_item(1, "P1", "OLD")], 1)
    csv = write_csv(
        tmp_path / "p.csv", "mrn,first_name,last_name,date_of_birth\nNEW,Ann,Lee,1980-01-02\n"
    )
    import_patients_csv(store, csv)
    # The portal now says P1's MRN is NEW: one row remains, the portal's.
    store.apply_changes([patient_item(2, "P1", "NEW")], 2)
    assert _patients(store) == [("P1", "NEW", "Ann")]


def test_mrn_moved_between_patients_within_a_page(store: LocalStore) -> None:
    store.apply_changes([patient_item(1, "P1", "A"), patient_item(2, "P2", "B")], 2)
    # Swap through a temporary MRN, as the portal must; the page holds the final states.
    store.apply_changes([patient_item(5, "P1", "B"), patient_item(6, "P2", "A")], 6)
    assert sorted(p[:2] for p in _patients(store)) == [("P1", "B"), ("P2", "A")]


def test_stale_holder_of_an_mrn_is_dropped_until_its_own_update(store: LocalStore) -> None:
    store.apply_changes([patient_item(1, "P1", "A")], 1)
    # P1 gave up A (its update comes on a later page); P2 has it now.
    store.apply_changes([patient_item(5, "P2", "A")], 5)
    assert _patients(store) == [("P2", "A", "Ann")]
    store.apply_changes([patient_item(6, "P1", "Z")], 6)
    assert sorted(p[:2] for p in _patients(store)) == [("P1", "Z"), ("P2", "A")]


def test_appointment_falls_back_to_external_id(store: LocalStore, tmp_path: Path) -> None:
    store.apply_changes([patient_item(1, "P1", "M1")], 1)
    with store.write() as uow:
        uow.session.add(
            Appointment(external_id="EXT1", patient_mrn="M1", starts_at=T0, provider="Dr. Old")
        )
    store.apply_changes([appointment_item(2, "A1", "EXT1", "M1", "P1")], 2)
    with store.read() as s:
        rows = s.execute(
            select(Appointment.portal_id, Appointment.external_id, Appointment.provider)
        ).all()
        assert [tuple(r) for r in rows] == [("A1", "EXT1", "Dr. Who")]
        appointment = s.scalars(select(Appointment)).one()
        assert appointment.patient_portal_id == "P1"
        assert appointment.starts_at == T0
        assert appointment.starts_at.tzinfo is not None


def test_failure_mid_page_leaves_nothing(store: LocalStore) -> None:
    store.apply_changes([patient_item(1, "P1", "M1")], 1)
    before = _dump(store)
    # A real SQLite failure after the patients of the page were written: a trigger refusing
    # one check-in.
    with closing(sqlite3.connect(store.path)) as conn, conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON checkins WHEN NEW.id = 'BAD' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    page = [
        patient_item(2, "P1", "M1", first="Changed"),
        patient_item(3, "P2", "M2"),
        checkin_item(4, "OK", "P1"),
        checkin_item(5, "BAD", "P2"),
    ]
    with pytest.raises(IntegrityError):
        store.apply_changes(page, 5)
    assert _dump(store) == before
    assert store.last_seq() == 1


def test_malformed_item_leaves_nothing(store: LocalStore) -> None:
    page = [patient_item(1, "P1", "M1"), patient_item(2, "P2", "M2", date_of_birth="soon")]
    with pytest.raises(ValueError):
        store.apply_changes(page, 2)
    assert store.patient_count() == 0
    assert store.last_seq() == 0


_mrns = st.sampled_from(["A", "B", "C", "D"])
_pids = st.sampled_from(["P1", "P2", "P3"])
_names = st.sampled_from(["Ann", "Bo", "Cy"])


@st.composite
def _pages(draw: st.DrawFn) -> list[ChangeItem]:
    ops = draw(st.lists(st.tuples(_pids, _mrns, _names, st.booleans()), min_size=1, max_size=12))
    items = []
    for seq, (pid, mrn, name, delete) in enumerate(ops, start=1):
        items.append(
            delete_item(seq, "patient", pid) if delete else patient_item(seq, pid, mrn, first=name)
        )
    return items


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=_pages(), second=_pages())
def test_any_two_pages_apply_idempotently(
    tmp_path: Path, first: list[ChangeItem], second: list[ChangeItem]
) -> None:
    # A fresh file per example: hypothesis reuses tmp_path across examples.
    path = tmp_path / f"h{len(list(tmp_path.iterdir()))}.sqlite3"
    store = LocalStore.open(path)
    try:
        store.apply_changes(first, 1)
        store.apply_changes(second, 2)
        once = _dump(store)
        store.apply_changes(second, 2)
        assert _dump(store) == once
        # Each portal id and each MRN appears at most once, and the latest item of the second
        # page for a portal id is what the store holds.
        rows = _patients(store)
        assert len({r[0] for r in rows}) == len(rows)
        latest = {i.id: i for i in sorted(second, key=lambda i: i.seq)}
        held = {r[0]: r for r in rows}
        for pid, item in latest.items():
            if item.op == "delete":
                assert pid not in held
    finally:
        store.close()


def test_checkins_in_a_page_keep_arrival_times(store: LocalStore) -> None:
    store.apply_changes(
        [
            checkin_item(1, "C1", "P1", arrived_at=T0 + timedelta(minutes=5)),
            checkin_item(2, "C2", "P1"),
        ],
        2,
    )
    rows = store.checkins_for_day(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [r.id for r in rows] == ["C2", "C1"]


def test_kinds_from_a_newer_portal_are_skipped_and_the_position_advances(store: LocalStore) -> None:
    unknown = ChangeItem(seq=1, kind="telehealth_room", op="upsert", id="r1", data={"x": 1})
    known = patient_item(2, "P1", "M1")
    assert store.apply_changes([unknown, known], 2) == {"patient"}
    assert store.last_seq() == 2
    assert _patients(store) == [("P1", "M1", "Ann")]


def _batch_item(seq: int, lines: list[dict[str, Any]], kind: str = "ledger_columns") -> ChangeItem:
    data = batch_data(lines, kind)
    return ChangeItem(seq=seq, kind=kind, op="upsert", id=f"B{seq}", data=data)


@pytest.fixture(params=BATCH_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """A batch's kind: lines in columns (what the portal writes), or one object per line (what
    an older portal wrote, still in its feed)."""
    return str(request.param)


def _single_line_item(seq: int, external_id: str, description: str) -> ChangeItem:
    data = {
        **line_data(external_id, description),
        "id": f"LP-{external_id}",
        "patient_id": "P1",
        "guarantor_patient_id": "P1",
        "updated_at": "2026-12-04T09:00:00Z",
    }
    return ChangeItem(seq=seq, kind="ledger_line", op="upsert", id=f"LP-{external_id}", data=data)


def _lines(store: LocalStore) -> dict[str, tuple[Any, ...]]:
    with store.read() as s:
        rows = s.execute(
            select(LedgerLine.external_id, LedgerLine.portal_id, LedgerLine.description)
        )
        return {row[0]: tuple(row[1:]) for row in rows}


@pytest.fixture(params=["objects", "json"])
def read(request: pytest.FixtureRequest) -> Callable[[list[ChangeItem]], list[ChangeItem]]:
    """The items as built, or as the desk's client reads them from a page's JSON (a batch in
    one pass, see visitdesk/api/wire_feed.py): both must apply alike."""
    if request.param == "objects":
        return lambda items: items

    def from_json(items: list[ChangeItem]) -> list[ChangeItem]:
        page = {"items": [i.model_dump(mode="json") for i in items], "last_seq": 0, "more": False}
        return list(read_page(json.dumps(page).encode()).items)

    return from_json


def test_a_batch_of_lines_and_single_lines_apply_in_seq_order(
    store: LocalStore, read: Callable[[list[ChangeItem]], list[ChangeItem]], kind: str
) -> None:
    # L1 comes alone and then in a batch, L2 in a batch and then alone: the later item wins,
    # whichever kind it is. The batch is reported as ledger lines.
    page = read(
        [
            _single_line_item(1, "L1", "first"),
            _batch_item(
                2,
                [line_data("L1", "batch"), line_data("L2", "batch"), line_data("L3", "batch")],
                kind,
            ),
            _single_line_item(3, "L2", "last"),
        ]
    )
    assert store.apply_changes(page, 3) == {"ledger_line"}
    assert _lines(store) == {
        "L1": ("LP-L1", "batch"),
        "L2": ("LP-L2", "last"),
        "L3": ("LP-L3", "batch"),
    }
    store.apply_changes(page, 3)  # again: the same state
    assert len(_lines(store)) == 3


def test_a_malformed_batch_leaves_nothing(
    store: LocalStore, read: Callable[[list[ChangeItem]], list[ChangeItem]], kind: str
) -> None:
    bad = _batch_item(2, [line_data("L1", "x"), line_data("L2", "y")], kind)
    bad.data["ids"].pop()  # one line without its portal id
    with pytest.raises(ValueError, match="differ in length"):
        store.apply_changes(read([patient_item(1, "P1", "M1"), bad]), 2)
    assert store.last_seq() == 0
    assert _lines(store) == {}
    assert _patients(store) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount_cents", float("nan")), ("amount_cents", 12.5), ("description", "x" * 1_000_000)],
)
def test_a_batch_with_a_hostile_line_leaves_nothing(
    store: LocalStore,
    read: Callable[[list[ChangeItem]], list[ChangeItem]],
    kind: str,
    field: str,
    value: Any,
) -> None:
    bad = _batch_item(2, [line_data("L1", "x"), {**line_data("L2", "y"), field: value}], kind)
    with pytest.raises(ValueError):
        store.apply_changes(read([patient_item(1, "P1", "M1"), bad]), 2)
    assert store.last_seq() == 0
    assert _lines(store) == {}


def test_batch_text_is_kept_as_given(
    store: LocalStore, read: Callable[[list[ChangeItem]], list[ChangeItem]], kind: str
) -> None:
    text = "\u202eevil</td><script>x</script> \x01 \U0001f600"
    store.apply_changes(read([_batch_item(1, [line_data("L1", text)], kind)]), 1)
    assert _lines(store) == {"L1": ("LP-L1", text)}


def test_batches_of_both_kinds_in_one_page_keep_each_lines_last_row(
    store: LocalStore, read: Callable[[list[ChangeItem]], list[ChangeItem]]
) -> None:
    # An older batch (one object per line) and newer ones in columns, naming lines again: each
    # line is written once, as its highest-seq item has it.
    page = read(
        [
            _batch_item(1, [line_data("L1", "old"), line_data("L2", "old")], "ledger_lines"),
            _batch_item(2, [line_data("L2", "new"), line_data("L3", "new")]),
            _batch_item(3, [line_data("L3", "newest"), line_data("L4", "newest")]),
        ]
    )
    assert store.apply_changes(page, 3) == {"ledger_line"}
    assert _lines(store) == {
        "L1": ("LP-L1", "old"),
        "L2": ("LP-L2", "new"),
        "L3": ("LP-L3", "newest"),
        "L4": ("LP-L4", "newest"),
    }
