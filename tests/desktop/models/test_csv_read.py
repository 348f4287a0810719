from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visitdesk.desktop.models.csv_read import (
    FileRejected,
    decode,
    normalise_header,
    parse_date,
    parse_time,
)


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)))
def test_both_date_forms_round_trip(day: date) -> None:
    assert parse_date(day.isoformat(), "d") == day
    assert parse_date(f"{day.month}/{day.day}/{day.year:04d}", "d") == day
    assert parse_date(day.strftime("%m/%d/") + f"{day.year:04d}", "d") == day


@given(st.times().map(lambda t: t.replace(microsecond=0)))
def test_both_time_forms_round_trip(at: time) -> None:
    assert parse_time(at.strftime("%H:%M:%S"), "t") == at
    hour12 = at.hour % 12 or 12
    suffix = "AM" if at.hour < 12 else "PM"
    assert parse_time(f"{hour12}:{at.minute:02d}:{at.second:02d} {suffix}", "t") == at
    assert parse_time(f"{hour12}:{at.minute:02d}{suffix.lower()}", "t") == at.replace(second=0)


@pytest.mark.parametrize("text", ["2024/01/02", "01-02-2024", "2024-1-", "31/12/99", "yesterday"])
def test_other_date_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD or MM/DD/YYYY"):
        parse_date(text, "date")


@pytest.mark.parametrize("text", ["24:00", "12:60", "0:30 PM", "13:00 PM", "9", "9.30"])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text, "time")


def test_header_normalisation() -> None:
    assert normalise_header("  Date Of-Birth ") == "date_of_birth"


def test_decode_reports_the_line_of_the_bad_byte() -> None:
    assert decode("\ufeffa\nb".encode()) == "a\nb"
    with pytest.raises(FileRejected) as rejected:
        decode(b"a\nb\n\xff")
    assert rejected.value.error.line == 3
