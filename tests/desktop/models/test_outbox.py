from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from tests.sync.batches import records_of
from visitdesk.api.commands import (
    GET_CHANGES,
    LIST_SECURITY_CODES,
    REVOKE_SECURITY_CODE,
    SET_CHECKIN_STATUS,
    SIGN_IN,
    UPSERT_LEDGER,
    UPSERT_LEDGER_COLUMNS,
)
from visitdesk.api.wire import CheckInStatus, CheckInStatusUpdate
from visitdesk.api.wire_billing import LedgerColumns, LedgerLineRecord, LedgerUpsert
from visitdesk.desktop.models import LocalStore, NotFoundError
from visitdesk.sync.push_order import Footprint
from visitdesk.sync.store import SyncStore

ROOMED = CheckInStatusUpdate(status=CheckInStatus.ROOMED)


def _enqueue(store: LocalStore, n: int) -> list[int]:
    return [
        store.enqueue(SET_CHECKIN_STATUS, {"checkin_id": f"C{i}"}, ROOMED, f"Room check-in {i}").id
        for i in range(n)
    ]


def test_store_satisfies_the_sync_protocol(store: LocalStore) -> None:
    sync_store: SyncStore = store  # checked by mypy; at run time the methods must exist
    for name in (
        "last_seq",
        "apply_changes",
        "next_outbox_item",
        "outbox_sent",
        "outbox_attempt_failed",
        "outbox_failed",
        "outbox_pending_count",
    ):
        assert callable(getattr(sync_store, name))


def test_items_come_out_in_order_with_their_fields(store: LocalStore) -> None:
    first, second = _enqueue(store, 2)
    item = store.next_outbox_item()
    assert item is not None
    assert item.id == first
    assert (item.command, item.params, item.body) == (
        "set_checkin_status",
        {"checkin_id": "C0"},
        {"status": "roomed"},
    )
    assert item.description == "Room check-in 0"
    assert uuid.UUID(item.idempotency_key).version == 4
    assert item.created_at.tzinfo is not None
    assert (item.attempts, item.last_error, item.failed) == (0, None, False)
    assert store.outbox_pending_count() == 2
    store.outbox_sent(first, {"ok": True})
    nxt = store.next_outbox_item()
    assert nxt is not None and nxt.id == second
    assert store.outbox_pending_count() == 1


def test_transient_failure_keeps_item_first_with_same_key(store: LocalStore) -> None:
    first, _ = _enqueue(store, 2)
    key = store.next_outbox_item().idempotency_key  # type: ignore[union-attr]
    store.outbox_attempt_failed(first, "connection refused")
    store.outbox_attempt_failed(first, "timeout")
    item = store.next_outbox_item()
    assert item is not None
    assert (item.id, item.attempts, item.last_error, item.idempotency_key) == (
        first,
        2,
        "timeout",
        key,
    )


def test_permanent_failure_parks_item_retry_and_discard(store: LocalStore) -> None:
    first, second, third = _enqueue(store, 3)
    store.outbox_failed(first, "409 Conflict: already revoked")
    assert store.next_outbox_item().id == second  # type: ignore[union-attr]
    assert store.outbox_pending_count() == 2
    failed = store.failed_outbox_items()
    assert [(f.id, f.failed, f.last_error) for f in failed] == [
        (first, True, "409 Conflict: already revoked")
    ]

    store.retry_outbox_item(first)
    assert store.failed_outbox_items() == []
    item = store.next_outbox_item()
    assert item is not None and (item.id, item.attempts, item.failed) == (first, 0, False)
    assert item.idempotency_key == failed[0].idempotency_key

    store.outbox_failed(third, "400")
    store.discard_outbox_item(third)
    assert store.failed_outbox_items() == []
    assert [i.id for i in store.pending_outbox_items()] == [first, second]


def test_unknown_ids(store: LocalStore) -> None:
    store.outbox_sent(12345, None)  # a replayed success for a removed item is harmless
    with pytest.raises(NotFoundError):
        store.retry_outbox_item(12345)
    with pytest.raises(NotFoundError):
        store.discard_outbox_item(12345)


def test_ids_are_never_reused(store: LocalStore) -> None:
    (first,) = _enqueue(store, 1)
    store.outbox_sent(first, None)
    (second,) = _enqueue(store, 1)
    assert second > first


def test_long_errors_are_truncated(store: LocalStore) -> None:
    (first,) = _enqueue(store, 1)
    store.outbox_attempt_failed(first, "x" * 100_000)
    assert len(store.next_outbox_item().last_error or "") == 2000  # type: ignore[union-attr]


def test_enqueue_rides_in_the_callers_transaction(store: LocalStore) -> None:
    with pytest.raises(RuntimeError), store.write() as uow:
        uow.enqueue(REVOKE_SECURITY_CODE, {"code_id": "S1"}, None, "Revoke code")
        store.set_state  # noqa: B018  (nothing else happens before the failure)
        raise RuntimeError("the local change failed")
    assert store.outbox_pending_count() == 0

    with store.write() as uow:
        a = uow.enqueue(REVOKE_SECURITY_CODE, {"code_id": "S1"}, None, "Revoke code")
        b = uow.enqueue(REVOKE_SECURITY_CODE, {"code_id": "S2"}, None, "Revoke code")
    assert (b.command, b.params) == ("revoke_security_code", {"code_id": "S2"})
    assert a.idempotency_key != b.idempotency_key
    assert store.outbox_pending_count() == 2


def test_enqueue_refuses_reads_and_calls_that_are_not_idempotent(store: LocalStore) -> None:
    with pytest.raises(ValueError):
        store.enqueue(GET_CHANGES, {}, None, "x")
    with pytest.raises(ValueError):
        store.enqueue(LIST_SECURITY_CODES, {}, None, "x")
    with pytest.raises(ValueError):
        store.enqueue(SIGN_IN, {}, None, "x")
    assert store.outbox_pending_count() == 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"code_id": ""},
        {"code_id": "a/b"},
        {"code_id": "x?y=1"},
        {"code_id": ".."},
        {"code_id": "S1", "extra": "x"},
        {"checkin_id": "S1"},
    ],
)
def test_enqueue_checks_the_path_parameters(store: LocalStore, params: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        store.enqueue(REVOKE_SECURITY_CODE, params, None, "x")
    assert store.outbox_pending_count() == 0


def test_enqueue_checks_the_body_model(store: LocalStore) -> None:
    with pytest.raises(TypeError):
        store.enqueue(SET_CHECKIN_STATUS, {"checkin_id": "C1"}, None, "x")
    with pytest.raises(ValueError):
        store.enqueue(REVOKE_SECURITY_CODE, {"code_id": "S1"}, ROOMED, "x")
    assert store.outbox_pending_count() == 0


def test_the_push_line_keeps_each_body_as_stored(store: LocalStore) -> None:
    # The push worker sends the stored text as it is; it must be the body's own JSON.
    first, second = _enqueue(store, 2)
    store.enqueue(REVOKE_SECURITY_CODE, {"code_id": "K1"}, None, "Revoke a code")
    line = store.outbox_line(0, [first], 10)
    assert [item.id for item in line][:1] == [second]
    with_body, without_body = line
    assert with_body.body == {"status": "roomed"}
    assert with_body.body_json is not None
    assert json.loads(with_body.body_json) == with_body.body
    assert without_body.body is None
    # The item as the rest of the app reads it has the same body.
    assert [i.body for i in store.outbox_line(0, [], 10)] == [
        {"status": "roomed"},
        {"status": "roomed"},
        None,
    ]


def test_the_push_line_gives_a_bulk_batch_as_its_text_and_the_rule_reads_its_records(
    store: LocalStore,
) -> None:
    lines = [
        LedgerLineRecord(
            external_id=f"L{n}",
            mrn="M1",
            guarantor_mrn="M1",
            kind="charge",
            posted_date=date(2026, 1, 2),
            description="Visit \u202e<b>",
            amount_cents=100 + n,
        )
        for n in range(3)
    ]
    store.enqueue(UPSERT_LEDGER, {}, LedgerUpsert(lines=lines), "Ledger batch")
    store.enqueue(UPSERT_LEDGER_COLUMNS, {}, LedgerColumns.of(lines[1:]), "Ledger columns")
    batch, columns = store.outbox_line(0, [], 10)
    # Not parsed on the way out: the text is sent as it is, and is the body's own JSON.
    assert batch.body is None and columns.body is None
    assert batch.body_json is not None and columns.body_json is not None
    assert LedgerUpsert.model_validate_json(batch.body_json).lines == lines
    assert records_of(LedgerColumns.model_validate_json(columns.body_json)) == lines[1:]
    assert Footprint.of(batch).records == {"L0", "L1", "L2"}
    assert Footprint.of(columns).records == {"L1", "L2"}
    # Read by itself (the outbox view, a retry) the item still has its body.
    item = store.next_outbox_item()
    assert item is not None and item.body is not None
    assert [line["external_id"] for line in item.body["lines"]] == ["L0", "L1", "L2"]
