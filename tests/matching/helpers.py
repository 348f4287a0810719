"""Records for matching tests: one baseline patient and small variations of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from visitdesk.matching import MatchRecord

ROBERT = MatchRecord(
    record_id="P1",
    first_name="Robert",
    last_name="Smith",
    middle_name="James",
    date_of_birth=date(1980, 3, 4),
    sex="M",
    phone="(555) 123-4567",
    email="robert.smith@example.com",
    postal_code="02134",
)

MARGARET = MatchRecord(
    record_id="P2",
    first_name="Margaret",
    last_name="García",
    date_of_birth=date(1975, 11, 2),
    sex="F",
    phone="555-222-3333",
    email="mgarcia@example.org",
    postal_code="02139",
)


def registration(base: MatchRecord = ROBERT, **changes: Any) -> MatchRecord:
    """A registration typed from ``base`` with ``changes``, carrying a registration id."""
    return replace(base, record_id="R1", **changes)
