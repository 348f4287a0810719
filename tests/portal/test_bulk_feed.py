"""The feed items of the desk's bulk upserts, whose JSON is built from the validated records
without an *Out model per row: each must read back as the *Out model of the stored row (a batch of
ledger lines is one item, LedgerColumnsOut)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from tests.backends import BACKENDS
from tests.portal.test_feed_concurrency import _new_practice, feed_db
from tests.sync.batches import records_of
from visitdesk.api.wire import PatientOut, PatientRecord
from visitdesk.api.wire_billing import (
    LedgerColumns,
    LedgerColumnsOut,
    LedgerLineOut,
    LedgerLineRecord,
)
from visitdesk.portal.billing.ledger import line_out, upsert_ledger
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import BATCH_ITEMS_PER_PAGE, read_page
from visitdesk.portal.persistence.models import Patient, new_ids
from visitdesk.portal.persistence.models_billing import LedgerLine
from visitdesk.portal.persistence.out import datetime_text, extended_json, patient_out
from visitdesk.portal.records.records import upsert_patients

__all__ = ["feed_db"]

#: Text a JSON splice could get wrong: quotes, backslashes, a closing brace, markup, a
#: right-to-left override, non-BMP characters, an escape-looking sequence.
HOSTILE = 'O"Brien \\ } </script> \u202eevil \U0001f600 \\u0000 Ñ'


def _patients() -> list[PatientRecord]:
    return [
        PatientRecord(
            mrn=f"M{n}",
            first_name="Ann" if n else HOSTILE[:100],
            last_name=f"Lee{n}",
            date_of_birth=date(1980, 1, 1 + n),
            address_line1=HOSTILE,
            email="ann@example.org",
        )
        for n in range(3)
    ]


def _lines(description: str = HOSTILE) -> list[LedgerLineRecord]:
    return [
        LedgerLineRecord(
            external_id=f"L{n}",
            mrn=f"M{n}",
            guarantor_mrn="M0",
            kind="charge",
            service_date=None if n == 2 else date(2026, 11, n + 1),
            posted_date=date(2026, 11, 20),
            code="99213",
            description=description,
            provider=HOSTILE,
            amount_cents=12_345 - n,
            responsibility="patient" if n else "insurance",
        )
        for n in range(3)
    ]


def _feed(db: Database, practice_id: str, after: int) -> dict[str, list[tuple[str, str]]]:
    with db.read() as session:
        page = read_page(session, practice_id, after, 100)
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for item in page.items:
        by_kind.setdefault(item.kind, []).append((item.entity_id, item.data))
    return by_kind


def _per_line(batch: LedgerColumnsOut) -> list[LedgerLineOut]:
    """A batch item as the LedgerLineOut of each of its lines."""
    return [
        LedgerLineOut(
            **line.model_dump(),
            id=line_id,
            patient_id=patient_id,
            guarantor_patient_id=guarantor_id,
            updated_at=batch.updated_at,
        )
        for line, line_id, patient_id, guarantor_id in zip(
            records_of(batch.lines),
            batch.ids,
            batch.patient_ids,
            batch.guarantor_patient_ids,
            strict=True,
        )
    ]


def _stored_lines(db: Database, practice_id: str) -> dict[str, LedgerLineOut]:
    with db.read() as session:
        mrns = dict(session.execute(select(Patient.id, Patient.mrn)).all())
        rows = session.scalars(select(LedgerLine).where(LedgerLine.practice_id == practice_id))
        return {
            row.id: line_out(row, mrns[row.patient_id], mrns[row.guarantor_patient_id])
            for row in rows
        }


@pytest.mark.parametrize("feed_db", BACKENDS, indirect=True)
def test_bulk_feed_items_read_back_as_the_stored_rows(feed_db: Database) -> None:
    practice_id = _new_practice(feed_db)
    with feed_db.write() as session:
        upsert_patients(session, practice_id, _patients())
    with feed_db.write() as session:
        upsert_ledger(session, practice_id, LedgerColumns.of(_lines()))

    feed = _feed(feed_db, practice_id, 0)
    with feed_db.read() as session:
        stored = {p.id: patient_out(p) for p in session.scalars(select(Patient))}
    assert len(feed["patient"]) == 3
    for entity_id, data in feed["patient"]:
        assert PatientOut.model_validate_json(data) == stored[entity_id]
    assert stored[feed["patient"][0][0]].address_line1 == HOSTILE

    # The batch is one item, whose lines read back as the stored rows.
    lines = _stored_lines(feed_db, practice_id)
    assert len(feed["ledger_columns"]) == 1
    _, data = feed["ledger_columns"][0]
    assert {
        line.id: line for line in _per_line(LedgerColumnsOut.model_validate_json(data))
    } == lines

    # A changed line is fed again, with what is now stored; an unchanged one is not.
    after = len(feed["patient"]) + 1
    changed = _lines("Office visit")
    changed[2] = _lines()[2]
    with feed_db.write() as session:
        result = upsert_ledger(session, practice_id, LedgerColumns.of(changed))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
    lines = _stored_lines(feed_db, practice_id)
    ((_, data),) = _feed(feed_db, practice_id, after)["ledger_columns"]
    again = _per_line(LedgerColumnsOut.model_validate_json(data))
    assert again == [lines[line.id] for line in again]
    assert [line.external_id for line in again] == ["L0", "L1"]
    assert {line.description for line in again} == {"Office visit"}


def test_extended_json_is_the_out_model() -> None:
    record = _lines()[0]
    now = datetime(2026, 12, 3, 21, 40, 9, 123456, tzinfo=UTC)
    extra: dict[str, Any] = {
        "id": "line-1",
        "patient_id": "p-1",
        "guarantor_patient_id": "p-2",
        "source": "import",
        "payment_id": None,
    }
    spliced = extended_json(record, {**extra, "updated_at": datetime_text(now)})
    built = LedgerLineOut(**record.model_dump(), **extra, updated_at=now)
    assert json.loads(spliced) == json.loads(built.model_dump_json())
    assert datetime_text(now) == "2026-12-03T21:40:09.123456Z"


def test_bulk_ids_are_time_ordered_uuids() -> None:
    before = time.time_ns() // 1_000_000
    ids = list(new_ids(2_000))
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert before <= parsed.int >> 80 <= after
    # A random start of 74 bits: two batches in the same millisecond still differ.
    assert not set(ids) & set(new_ids(2_000))
    # From one id to the next the low bits grow by a random step: no id follows from another.
    steps = [uuid.UUID(b).int - uuid.UUID(a).int for a, b in itertools.pairwise(ids)]
    assert min(steps) >= 1 and max(steps) <= 0x10000 and len(set(steps)) > 1_000
    assert list(new_ids(0)) == []
    with pytest.raises(ValueError):
        new_ids(-1)


@pytest.mark.parametrize("feed_db", BACKENDS, indirect=True)
def test_a_second_upsert_finds_its_practices_records_by_any_id(feed_db: Database) -> None:
    # 5,000 ids in one lookup parameter (a JSON array on SQLite, an array on PostgreSQL), ids
    # with text a JSON splice could get wrong, and another practice holding the same ids.
    ids = [f"{HOSTILE[:40]}\x01 {n}" for n in range(3)] + [f"L{n}" for n in range(4_997)]
    lines = [line.model_copy(update={"external_id": ids[n]}) for n, line in enumerate(_lines())]
    lines += [lines[1].model_copy(update={"external_id": i}) for i in ids[3:]]
    mine, theirs = _new_practice(feed_db), _new_practice(feed_db)
    for practice_id in (theirs, mine):
        with feed_db.write() as session:
            assert upsert_patients(session, practice_id, _patients()).created == 3
        with feed_db.write() as session:
            assert upsert_ledger(session, practice_id, LedgerColumns.of(lines)).created == 5_000
    changed = [*lines[:-1], lines[-1].model_copy(update={"amount_cents": 1})]
    with feed_db.write() as session:
        again = upsert_ledger(session, mine, LedgerColumns.of(changed))
        patients_again = upsert_patients(session, mine, _patients())
    assert (again.created, again.updated, again.unchanged) == (0, 1, 4_999)
    assert (patients_again.created, patients_again.unchanged) == (0, 3)
    with feed_db.read() as session:
        stored = dict(
            session.execute(
                select(LedgerLine.external_id, LedgerLine.amount_cents).where(
                    LedgerLine.practice_id == theirs
                )
            ).all()
        )
    assert len(stored) == 5_000 and stored[ids[0]] == lines[0].amount_cents
    assert stored[ids[-1]] == lines[-1].amount_cents  # the other practice's line is untouched


@pytest.mark.parametrize("feed_db", BACKENDS, indirect=True)
def test_a_page_ends_after_its_fourth_batch(feed_db: Database) -> None:
    practice_id = _new_practice(feed_db)
    with feed_db.write() as session:
        upsert_patients(session, practice_id, _patients())  # seq 1-3
    for n in range(6):  # a batch (seq 4, 6, ... 14), then one patient changed (5, 7, ... 15)
        with feed_db.write() as session:
            upsert_ledger(session, practice_id, LedgerColumns.of(_lines(f"Visit {n}")))
        with feed_db.write() as session:
            upsert_patients(
                session, practice_id, [_patients()[1].model_copy(update={"first_name": f"A{n}"})]
            )

    with feed_db.read() as session:
        first = read_page(session, practice_id, 0, 1000)
        rest = read_page(session, practice_id, first.last_seq, 1000)
        billing = read_page(session, practice_id, 0, 1000, frozenset({"ledger_columns"}))
        short = read_page(session, practice_id, 0, 4)
    assert BATCH_ITEMS_PER_PAGE == 4
    assert [row.seq for row in first.items] == list(range(1, 11))
    assert (first.more, first.last_seq) == (True, 10)
    assert [row.seq for row in rest.items] == list(range(11, 16))
    assert (rest.more, rest.last_seq) == (False, 15)
    batches = [row for row in first.items + rest.items if row.kind == "ledger_columns"]
    descriptions = [
        set(LedgerColumnsOut.model_validate_json(row.data).lines.description) for row in batches
    ]
    assert descriptions == [{f"Visit {n}"} for n in range(6)]
    patients = [row for row in first.items if row.kind == "patient"]
    assert PatientOut.model_validate_json(patients[-1].data).first_name == "A2"
    # The cut is made before a role's kinds are picked, so last_seq is the same for every role.
    assert [row.seq for row in billing.items] == [4, 6, 8, 10]
    assert (billing.more, billing.last_seq) == (True, 10)
    assert ([row.seq for row in short.items], short.more) == ([1, 2, 3, 4], True)


def test_lines_and_patients_hold_only_plain_values() -> None:
    # The bulk upserts read a validated record's fields with vars(): the same as its
    # model_dump() only while no field holds a model of its own.
    for record in [*_lines(), *_patients()]:
        assert vars(record) == record.model_dump()
        assert not any(isinstance(value, BaseModel) for value in vars(record).values())
