"""Reading a feed page with its batches in one pass (visitdesk/api/wire_feed.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from tests.sync.batches import BATCH_KINDS, batch_data, columns_data, line_data
from visitdesk.api.wire import ChangeItem, ChangesPage
from visitdesk.api.wire_billing import LedgerColumnsOut, LedgerLinesOut
from visitdesk.api.wire_feed import LedgerColumnsItem, LedgerLinesItem, batch_of, read_page

HOSTILE = "\u202eevil</td><script>x</script> \x01\x7f \U0001f600"


def _line(external_id: str, **changes: Any) -> dict[str, Any]:
    return line_data(external_id, **{"description": HOSTILE, **changes})


def _batch(*lines: dict[str, Any], kind: str = "ledger_lines") -> dict[str, Any]:
    return batch_data(list(lines), kind)


#: What a batch item of each kind is read as in one pass, and the model of its data.
READ_AS = {
    "ledger_columns": (LedgerColumnsItem, LedgerColumnsOut),
    "ledger_lines": (LedgerLinesItem, LedgerLinesOut),
}
BATCH_ITEMS = (LedgerColumnsItem, LedgerLinesItem)


def _page(*items: dict[str, Any]) -> bytes:
    return json.dumps({"items": list(items), "last_seq": 9, "more": True}).encode()


def _item(seq: int, kind: str, data: dict[str, Any], op: str = "upsert") -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "op": op, "id": f"I{seq}", "data": data}


PATIENT = {"id": "P1", "mrn": "M1", "first_name": HOSTILE, "nested": {"a": [1, 2]}}


@pytest.mark.parametrize("kind", BATCH_KINDS)
def test_a_batch_is_read_whole_and_every_other_item_as_before(kind: str) -> None:
    item_type, model = READ_AS[kind]
    batch = _batch(_line("L1"), _line("L2", service_date="2026-11-19"), kind=kind)
    content = _page(
        _item(1, "patient", PATIENT),
        _item(2, kind, batch),
        _item(3, "patient", {}, op="delete"),
    )
    page = read_page(content)
    plain = ChangesPage.model_validate_json(content)
    assert (page.last_seq, page.more) == (9, True)
    first, second, third = page.items
    assert isinstance(second, item_type)
    assert second.batch == model.model_validate(batch)
    # The same batch in columns whichever way it was read, its text as it came.
    columns = batch_of(second)
    assert columns == batch_of(plain.items[1])
    assert columns.ids == ["LP-L1", "LP-L2"]
    assert (
        columns.lines.columns()
        == LedgerColumnsOut.model_validate(
            _batch(_line("L1"), _line("L2", service_date="2026-11-19"), kind="ledger_columns")
        ).lines.columns()
    )
    assert columns.lines.description == [HOSTILE, HOSTILE]
    assert (second.seq, second.kind, second.op, second.id) == (2, kind, "upsert", "I2")
    for read, expected in ((first, plain.items[0]), (third, plain.items[2])):
        assert isinstance(read, ChangeItem) and not isinstance(read, BATCH_ITEMS)
        assert read.model_dump() == expected.model_dump()


def _in_columns(batch: dict[str, Any]) -> dict[str, Any]:
    """The same (bad) batch with its lines in columns, when they are a list of lines."""
    lines = batch.get("lines")
    if isinstance(lines, list):
        return {**batch, "lines": columns_data(lines)}
    return batch


REFUSED = [
    {**_batch(_line("L1")), "ids": []},  # columns of different lengths
    _batch(_line("L1", amount_cents=12.5)),
    _batch(_line("L1", amount_cents=float("nan"))),
    _batch(_line("L1", description="x" * 1_000_000)),
    {**_batch(_line("L1")), "extra": 1},
    {"lines": "not a batch"},
]


@pytest.mark.parametrize(
    ("kind", "batch"),
    [("ledger_lines", batch) for batch in REFUSED]
    + [("ledger_columns", _in_columns(batch)) for batch in REFUSED]
    + [
        # Columns of a batch in columns that differ in length, and a line missing a column.
        (
            "ledger_columns",
            {
                **_batch(_line("L1"), _line("L2"), kind="ledger_columns"),
                "lines": {**columns_data([_line("L1"), _line("L2")]), "mrn": ["M1"]},
            },
        ),
        (
            "ledger_columns",
            {
                **_batch(_line("L1"), kind="ledger_columns"),
                "lines": {k: v for k, v in columns_data([_line("L1")]).items() if k != "provider"},
            },
        ),
    ],
)
def test_a_batch_the_model_refuses_is_read_the_plain_way_for_its_applier_to_refuse(
    kind: str, batch: dict[str, Any]
) -> None:
    page = read_page(_page(_item(1, "patient", PATIENT), _item(2, kind, batch)))
    assert not any(isinstance(item, BATCH_ITEMS) for item in page.items)
    assert json.dumps(page.items[1].data, allow_nan=True) == json.dumps(batch, allow_nan=True)
    with pytest.raises(ValidationError):
        batch_of(page.items[1])


def test_a_kind_from_a_newer_portal_reads_the_page_the_plain_way() -> None:
    content = _page(
        _item(1, "telehealth_room", {"x": 1}), _item(2, "ledger_lines", _batch(_line("L1")))
    )
    page = read_page(content)
    assert [item.kind for item in page.items] == ["telehealth_room", "ledger_lines"]
    assert page.items[1].data["lines"][0]["external_id"] == "L1"


@pytest.mark.parametrize(
    "content",
    [b"", b"[]", b'{"items": []}', b'{"items": [{"seq": 1}], "last_seq": 1, "more": false}'],
)
def test_what_is_not_a_page_is_refused(content: bytes) -> None:
    with pytest.raises(ValidationError):
        read_page(content)
