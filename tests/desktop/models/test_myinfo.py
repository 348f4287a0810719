"""myInfo in the local store: fed by the change feed, decided here through the outbox, exported
once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.desktop.models.factories import T0
from visitdesk.api.wire import ChangeItem
from visitdesk.desktop.models import LocalStore, myinfo, outbox
from visitdesk.desktop.models.errors import NotFoundError


def change_item(
    seq: int,
    change_id: str,
    *,
    status: str = "pending",
    fields: dict[str, str] | None = None,
    decisions: dict[str, str] | None = None,
    submitted_at: Any = T0,
) -> ChangeItem:
    values = fields or {"city": "Amherst", "phone": "(413) 555-0100"}
    return ChangeItem(
        seq=seq,
        kind=myinfo.KIND,
        op="upsert",
        id=change_id,
        data={
            "id": change_id,
            "patient_id": "p-1",
            "account_id": "a-1",
            "account_name": "Ann Lee",
            "status": status,
            "submitted_at": submitted_at.isoformat(),
            "decided_at": (T0 + timedelta(hours=1)).isoformat() if status == "decided" else None,
            "decided_by": "Dana" if status == "decided" else None,
            "fields": [
                {"field": name, "value": value, "decision": (decisions or {}).get(name, "pending")}
                for name, value in values.items()
            ],
        },
    )


def _queue(store: LocalStore) -> list[str]:
    with store.read() as session:
        return [row.id for row in myinfo.queue(session)]


def _decide(store: LocalStore, change_id: str, decisions: dict[str, str]) -> Any:
    with store.write() as uow:
        return myinfo.record_decision(uow.session, change_id, decisions)


def test_the_feed_fills_the_queue_and_a_decision_elsewhere_empties_it(store: LocalStore) -> None:
    store.apply_changes(
        [
            change_item(1, "c-new", submitted_at=T0 + timedelta(hours=1)),
            change_item(2, "c-old"),
        ],
        2,
    )
    assert _queue(store) == ["c-old", "c-new"]
    with store.read() as session:
        detail = myinfo.detail(session, "c-old")
        assert myinfo.queue_count(session) == 2
    # The patient is not on this workstation yet: said in words, values on record empty.
    assert detail.change.patient_name.startswith("(record not")
    assert [(f.label, f.on_record, f.value) for f in detail.fields] == [
        ("City", "", "Amherst"),
        ("Phone", "", "(413) 555-0100"),
    ]
    store.apply_changes(
        [change_item(3, "c-old", status="decided", decisions={"city": "accepted"})], 3
    )
    assert _queue(store) == ["c-new"]


def test_a_decision_here_hides_the_change_and_queues_the_call(store: LocalStore) -> None:
    store.apply_changes([change_item(1, "c-1")], 1)
    with pytest.raises(ValueError, match="every field"):
        _decide(store, "c-1", {"city": "accepted"})
    with pytest.raises(ValueError, match="every field"):
        _decide(store, "c-1", {"city": "accepted", "phone": "maybe"})
    with pytest.raises(NotFoundError):
        _decide(store, "c-none", {"city": "accepted"})
    item = _decide(store, "c-1", {"city": "accepted", "phone": "rejected"})
    assert item.command == "decide_demographic_change"
    assert item.params == {"change_id": "c-1"}
    assert item.body == {"decisions": {"city": "accepted", "phone": "rejected"}}
    assert _queue(store) == []
    # Refused by the portal: back in the queue, marked.
    with store.write() as uow:
        outbox.failed(uow.session, item.id, "Conflict", retryable=False)
    with store.read() as session:
        [row] = myinfo.queue(session)
    assert row.decision_refused


def test_the_export_lists_accepted_fields_once(store: LocalStore) -> None:
    store.apply_changes(
        [
            change_item(1, "c-1", status="decided", decisions={"city": "accepted"}),
            change_item(2, "c-2", status="decided", decisions={}),
            change_item(3, "c-3"),
        ],
        3,
    )
    with store.read() as session:
        rows, ids = myinfo.unexported(session)
    assert [(r.change_id, r.field, r.value) for r in rows] == [("c-1", "city", "Amherst")]
    assert sorted(ids) == ["c-1", "c-2"]
    with pytest.raises(ValueError, match="already decided"):
        _decide(store, "c-1", {"city": "accepted", "phone": "accepted"})
    with store.write() as uow:
        myinfo.mark_exported(uow.session, ids, T0)
    with store.read() as session:
        assert myinfo.unexported(session) == ([], [])
