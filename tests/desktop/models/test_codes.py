"""The desk's list of security codes: feed applier, statuses, filters (never the code itself)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.desktop.models.factories import patient_item
from visitdesk.api.wire import ChangeItem
from visitdesk.desktop.models import LocalStore
from visitdesk.desktop.models.codes import SecurityCodeRow, list_codes, mark_revoked

#: Recent enough that codes issued "at T0" for 14 days are still active when the tests run.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def codes_for_desk(store: LocalStore, **filters: Any) -> list[SecurityCodeRow]:
    with store.read() as session:
        return list_codes(session, **filters)


def code_item(seq: int, cid: str, pid: str = "P1", **changes: Any) -> ChangeItem:
    data = {
        "id": cid,
        "patient_id": pid,
        "purpose": "register",
        "relationship": "self",
        "status": "active",
        "hint": "\u2022\u2022\u2022\u2022 TW9R",
        "issued_at": (T0 + timedelta(minutes=seq)).isoformat(),
        "issued_by": "Dana Whitfield",
        "expires_at": (T0 + timedelta(days=14)).isoformat(),
        "failed_attempts": 0,
    }
    data.update(changes)
    return ChangeItem(seq=seq, kind="security_code", op="upsert", id=cid, data=data)


def test_feed_items_fill_the_list_newest_first_with_patient_names(store: LocalStore) -> None:
    store.apply_changes([patient_item(1, "P1", "M1", "Ann", "Lee")], 1)
    store.apply_changes([code_item(2, "C1"), code_item(3, "C2", pid="P9")], 3)
    rows = codes_for_desk(store)
    assert [r.id for r in rows] == ["C2", "C1"]
    assert rows[1].patient_name == "Lee, Ann"
    assert rows[0].patient_name == "(patient not yet synced)"
    assert rows[1].issued_by == "Dana Whitfield" and rows[1].status == "active"


def test_status_never_moves_back_to_active(store: LocalStore) -> None:
    store.apply_changes([code_item(1, "C1", status="revoked", revoked_at=T0.isoformat())], 1)
    store.apply_changes([code_item(2, "C1")], 2)  # a late snapshot from before the revoke
    (row,) = codes_for_desk(store)
    assert row.status == "revoked"
    store.apply_changes([code_item(3, "C1", status="used", used_at=T0.isoformat())], 3)
    assert codes_for_desk(store)[0].status == "used"


def test_active_past_expiry_shows_and_filters_as_expired(store: LocalStore) -> None:
    store.apply_changes(
        [
            code_item(1, "OLD", expires_at=(T0 + timedelta(hours=1)).isoformat()),
            code_item(2, "NEW"),
            code_item(3, "GONE", status="revoked"),
        ],
        3,
    )
    later = T0 + timedelta(days=2)
    with store.read() as session:
        assert {r.id: r.status for r in list_codes(session, now=later)} == {
            "OLD": "expired",
            "NEW": "active",
            "GONE": "revoked",
        }
        assert [r.id for r in list_codes(session, status="active", now=later)] == ["NEW"]
        assert [r.id for r in list_codes(session, status="expired", now=later)] == ["OLD"]
        assert [r.id for r in list_codes(session, status="revoked", now=later)] == ["GONE"]
        with pytest.raises(ValueError):
            list_codes(session, status="bogus")


def test_filter_by_patient_and_reapplying_a_page_changes_nothing(store: LocalStore) -> None:
    page = [code_item(1, "A", pid="P1"), code_item(2, "B", pid="P2"), code_item(3, "C", pid="P1")]
    store.apply_changes(page, 3)
    store.apply_changes(page, 3)
    assert [r.id for r in codes_for_desk(store, patient_id="P1")] == ["C", "A"]
    assert len(codes_for_desk(store)) == 3


def test_reissue_marks_the_old_code_revoked_until_the_feed_confirms(store: LocalStore) -> None:
    store.apply_changes([code_item(1, "C1")], 1)
    with store.write() as uow:
        mark_revoked(uow.session, "C1", T0)
    row = codes_for_desk(store)[0]
    assert row.status == "revoked" and row.revoked_at == T0


def test_delete_items_remove_codes(store: LocalStore) -> None:
    store.apply_changes([code_item(1, "C1")], 1)
    store.apply_changes([ChangeItem(seq=2, kind="security_code", op="delete", id="C1", data={})], 2)
    assert codes_for_desk(store) == []
