"""The outbox's ordering rule: which items may be in flight together."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from visitdesk.api.commands import (
    MATCH_REGISTRATION,
    SET_CHECKIN_STATUS,
    UPSERT_LEDGER,
    UPSERT_LEDGER_COLUMNS,
    UPSERT_PATIENTS,
)
from visitdesk.sync.push_order import Ahead, Footprint, ready_to_send
from visitdesk.sync.store import OutboxItem


def _item(item_id: int, command: str, body: dict[str, Any] | None) -> OutboxItem:
    return OutboxItem(
        id=item_id,
        command=command,
        params={},
        body=body,
        idempotency_key=f"k{item_id}",
        description="",
        created_at=datetime.now(UTC),
    )


def patients(item_id: int, *mrns: str) -> OutboxItem:
    return _item(item_id, UPSERT_PATIENTS.name, {"patients": [{"mrn": m} for m in mrns]})


def ledger(item_id: int, *line_ids: str) -> OutboxItem:
    return _item(item_id, UPSERT_LEDGER.name, {"lines": [{"external_id": i} for i in line_ids]})


def columns(item_id: int, *line_ids: str) -> OutboxItem:
    """A ledger batch in columns, as the desk uploads an import."""
    body = {"external_id": list(line_ids), "mrn": ["M1"] * len(line_ids)}
    return _item(item_id, UPSERT_LEDGER_COLUMNS.name, body)


def status(item_id: int) -> OutboxItem:
    return _item(item_id, SET_CHECKIN_STATUS.name, {"status": "roomed"})


def ids(items: list[OutboxItem]) -> list[int]:
    return [item.id for item in items]


def send(line: list[OutboxItem], in_flight: Sequence[OutboxItem] = (), room: int = 4) -> list[int]:
    chosen, _ = ready_to_send(line, Ahead(Footprint.of(i) for i in in_flight), room)
    return ids(chosen)


def test_footprints_name_the_records_of_a_bulk_batch_only() -> None:
    assert Footprint.of(patients(1, "A", "B")).records == {"A", "B"}
    assert Footprint.of(ledger(1, "L1")).records == {"L1"}
    assert Footprint.of(columns(1, "L1", "L2")).records == {"L1", "L2"}
    assert Footprint.of(status(1)).records is None
    # A bulk body not of its command's shape is treated as an ordered command.
    assert Footprint.of(_item(1, UPSERT_PATIENTS.name, {"patients": "x"})).records is None
    assert Footprint.of(_item(1, UPSERT_PATIENTS.name, {"patients": [{"id": 1}]})).records is None
    assert Footprint.of(_item(1, "from_a_newer_version", {})).records is None


def _as_text(item: OutboxItem) -> OutboxItem:
    """The item as the push line gives a bulk batch: its JSON text only."""
    return dataclasses.replace(item, body=None, body_json=json.dumps(item.body))


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [{"external_id": "L1", "amount_cents": 100}, {"external_id": "L2"}]},
        {"lines": [{"external_id": "\u202eL1<b>\x01\U0001f600"}], "more": {"nested": [1]}},
        {"lines": []},
        {"lines": [{"external_id": "L1"}, {"external_id": "L1"}]},
        {"lines": [{"external_id": 1}]},
        {"lines": [{"external_id": None}]},
        {"lines": [{"id": "L1"}]},
        {"lines": [{"external_id": "L1"}, "L2"]},
        {"lines": "L1"},
        {"patients": [{"mrn": "A"}]},
        [{"external_id": "L1"}],
        None,
    ],
)
def test_a_batch_given_as_text_names_the_records_its_objects_name(body: Any) -> None:
    item = _item(1, UPSERT_LEDGER.name, body)
    assert Footprint.of(_as_text(item)).records == Footprint.of(item).records


@pytest.mark.parametrize(
    "body",
    [
        {"external_id": ["L1", "L2"], "amount_cents": [100, 200]},
        {"external_id": ["\u202eL1<b>\x01\U0001f600"], "more": {"nested": [1]}},
        {"external_id": []},
        {"external_id": ["L1", "L1"]},
        {"external_id": [1]},
        {"external_id": [None]},
        {"external_id": ["L1", {"external_id": "L2"}]},
        {"external_id": "L1"},
        {"lines": [{"external_id": "L1"}]},
        ["L1"],
        None,
    ],
)
def test_a_batch_in_columns_given_as_text_names_the_records_its_objects_name(body: Any) -> None:
    item = _item(1, UPSERT_LEDGER_COLUMNS.name, body)
    assert Footprint.of(_as_text(item)).records == Footprint.of(item).records


def test_batches_in_columns_go_together_after_the_patients_queued_before_them() -> None:
    p1, c2, c3, c4 = patients(1, "A"), columns(2, "x"), columns(3, "y"), columns(4, "x")
    assert send([p1, c2, c3, c4]) == [1]
    assert send([c2, c3, c4]) == [2, 3]  # the third names line x again: it waits for the first
    assert send([c4], in_flight=[c2]) == []


def test_a_batch_text_that_is_not_plain_json_is_treated_as_an_ordered_command() -> None:
    for text in ('{"lines": []} and more', '{"lines": [{"external_id": "\\ud800"}]}', ""):
        item = dataclasses.replace(ledger(1, "L1"), body=None, body_json=text)
        assert Footprint.of(item).records is None


def test_the_rule_takes_remembered_footprints() -> None:
    # The engine remembers each item's footprint (reading a batch's records from its text is
    # the costly part): given footprints are used as they are, one look per item.
    looked: list[int] = []

    def remembered(item: OutboxItem) -> Footprint:
        looked.append(item.id)
        return Footprint(item.command, frozenset({"same"}))

    line = [patients(1, "A"), patients(2, "B"), patients(3, "C")]
    chosen, more = ready_to_send(line, Ahead(), 4, remembered)
    # Remembered as naming the same record, the others wait for the first (and may later go).
    assert (ids(chosen), more, looked) == ([1], True, [1, 2, 3])


def test_patient_batches_go_together_up_to_the_room() -> None:
    line = [patients(n, f"M{n}") for n in range(1, 7)]
    assert send(line, room=4) == [1, 2, 3, 4]
    assert send(line[4:], in_flight=line[:2], room=2) == [5, 6]


def test_a_ledger_batch_waits_for_the_patient_batches_queued_before_it() -> None:
    p1, p2, l3, l4 = patients(1, "A"), patients(2, "B"), ledger(3, "x"), ledger(4, "y")
    assert send([p1, p2, l3, l4]) == [1, 2]
    assert send([p2, l3, l4], in_flight=[p1]) == [2]
    assert send([l3, l4], in_flight=[p2]) == []
    assert send([l3, l4]) == [3, 4]


def test_a_patient_batch_queued_after_ledger_batches_waits_for_them() -> None:
    l1, l2, p3 = ledger(1, "x"), ledger(2, "y"), patients(3, "A")
    assert send([l1, l2, p3]) == [1, 2]
    assert send([p3], in_flight=[l2]) == []


def test_an_ordered_command_waits_for_everything_before_it_and_holds_back_what_follows() -> None:
    p1, p2, s3, p4 = patients(1, "A"), patients(2, "B"), status(3), patients(4, "C")
    assert send([p1, p2, s3, p4]) == [1, 2]
    assert send([s3, p4], in_flight=[p2]) == []
    assert send([s3, p4]) == [3]  # alone
    assert send([p4], in_flight=[s3]) == []


@pytest.mark.parametrize("first", [MATCH_REGISTRATION.name, SET_CHECKIN_STATUS.name])
def test_ordered_commands_never_go_together(first: str) -> None:
    a, b = _item(1, first, None), status(2)
    assert send([a, b]) == [1]
    assert send([b], in_flight=[a]) == []


def test_a_batch_that_repeats_a_record_waits_for_the_earlier_one_but_others_pass_it() -> None:
    p1, p2, p3 = patients(1, "A", "B"), patients(2, "B", "C"), patients(3, "D")
    assert send([p1, p2, p3]) == [1, 3]
    assert send([p2, p3], in_flight=[p1]) == [3]
    assert send([p2]) == [2]


def test_the_scan_says_when_looking_further_cannot_help() -> None:
    ahead = Ahead([Footprint.of(patients(1, "A"))])
    chosen, more = ready_to_send([ledger(2, "x")], ahead, 1)
    assert chosen == [] and more is False  # two commands ahead: nothing later can pass
    ahead = Ahead([Footprint.of(patients(1, "A"))])
    chosen, more = ready_to_send([patients(2, "A")], ahead, 1)
    assert chosen == [] and more is True  # a later patient batch still could
    chosen, more = ready_to_send([patients(3, "B")], ahead, 1)
    assert ids(chosen) == [3] and more is False
