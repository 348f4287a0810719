"""Feed items of the registration queue, for the desk's tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.desktop.models.factories import T0
from visitdesk.api.wire import ChangeItem


def registration_item(
    seq: int,
    rid: str,
    first: str = "Bob",
    last: str = "Smith",
    dob: str = "1980-01-02",
    *,
    status: str = "pending",
    created_at: datetime | None = None,
    **extra: Any,
) -> ChangeItem:
    data = {
        "id": rid,
        "account_id": f"acct-{rid}",
        "status": status,
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "created_at": (created_at or T0 + timedelta(minutes=seq)).isoformat(),
        **extra,
    }
    return ChangeItem(seq=seq, kind="registration", op="upsert", id=rid, data=data)
