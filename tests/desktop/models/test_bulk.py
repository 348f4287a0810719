from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from visitdesk.desktop.models import LocalStore
from visitdesk.desktop.models.bulk import bulk_insert, chunks
from visitdesk.desktop.models.schema import OutboxEntry, Patient, table_of

WHEN = datetime(2024, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=-4)))


def _raw(store: LocalStore, sql: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def test_bulk_writes_the_same_text_as_the_orm(store: LocalStore) -> None:
    values = {
        "mrn": "M1",
        "first_name": "Ann",
        "last_name": "Lee",
        "date_of_birth": date(1980, 1, 2),
        "updated_at": WHEN,
    }
    with store.write() as uow:
        uow.session.add(Patient(**values))
    with store.write() as uow:
        bulk_insert(
            uow.session,
            table_of(Patient),
            [
                {
                    **values,
                    "mrn": "M2",
                    "middle_name": "",
                    "sex": "U",
                    "address_line1": "",
                    "address_line2": "",
                    "city": "",
                    "state": "",
                    "postal_code": "",
                    "phone": "",
                    "email": "",
                }
            ],
        )
    rows = _raw(store, "SELECT date_of_birth, updated_at FROM patients ORDER BY mrn")
    assert rows[0] == rows[1] == ("1980-01-02", "2024-05-01 13:30:00.000000")
    with store.read() as s:
        assert {p.updated_at for p in s.query(Patient)} == {WHEN.astimezone(UTC)}


def test_bulk_json_and_upsert(store: LocalStore) -> None:
    entry = {
        "created_at": WHEN,
        "command": "upsert_patients",
        "params": {},
        "body": {"a": [1, 2]},
        "idempotency_key": "k1",
        "description": "d",
        "attempts": 0,
        "last_error": None,
        "failed": False,
        "next_attempt_at": None,
    }
    with store.write() as uow:
        table = table_of(OutboxEntry)
        bulk_insert(uow.session, table, [entry])
        bulk_insert(
            uow.session,
            table,
            [{**entry, "command": "upsert_appointments"}],
            conflict="idempotency_key",
            update=["command"],
        )
        bulk_insert(
            uow.session, table, [{**entry, "command": "upsert_ledger"}], conflict="idempotency_key"
        )
    item = store.next_outbox_item()
    assert item is not None and (item.command, item.body) == ("upsert_appointments", {"a": [1, 2]})


def test_bulk_refuses_unknown_columns(store: LocalStore) -> None:
    with pytest.raises(ValueError, match="not columns"), store.write() as uow:
        bulk_insert(uow.session, table_of(Patient), [{"mrn; DROP TABLE patients": 1}])


def test_naive_datetimes_are_refused(store: LocalStore) -> None:
    with pytest.raises(StatementError, match="naive"), store.write() as uow:
        uow.session.add(
            Patient(
                mrn="M",
                first_name="A",
                last_name="B",
                date_of_birth=date(2000, 1, 1),
                updated_at=datetime(2024, 1, 1),
            )
        )
        uow.session.flush()


def test_chunks() -> None:
    assert [list(c) for c in chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 2)) == []
