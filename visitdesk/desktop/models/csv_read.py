"""Reading a spreadsheet's CSV export: decoding, the header row, line numbers, value parsers.

Line numbers are the row numbers a spreadsheet shows: the header is line 1 and every record counts
as one line, even a record whose quoted value spans several physical lines.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import NamedTuple

#: Errors kept in a report; the rest are only counted (a wrong file can have one per row).
MAX_REPORTED_ERRORS = 1000


class RowError(NamedTuple):
    """A problem with the file: `line` as the spreadsheet numbers it (header = 1)."""

    line: int
    reason: str


class FileRejected(Exception):
    """The file as a whole cannot be read; carries the error for the report."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.error = RowError(line, reason)


@dataclass
class Table:
    """A decoded CSV file: `columns` maps each known column name to its index."""

    columns: dict[str, int]
    ignored_columns: list[str]
    width: int
    records: list[tuple[int, list[str]]] = field(default_factory=list)


def normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def decode(data: bytes) -> str:
    """UTF-8 with or without a byte order mark; anything else is refused, never guessed."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise FileRejected(
            line,
            f"the file is not UTF-8 text (byte 0x{data[error.start]:02X} cannot be read). "
            "In your spreadsheet use Save As > 'CSV UTF-8 (Comma delimited)' and import again.",
        ) from None


def read_table(path: Path, required: Sequence[str], optional: Sequence[str]) -> Table:
    """Decode `path`, check its header and split it into records (blank records dropped)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise FileRejected(0, f"the file cannot be opened: {error.strerror or error}") from None
    text = decode(data)
    if not text.strip():
        raise FileRejected(1, "the file is empty; expected a header row and data rows.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    line = 0
    try:
        for record in reader:
            line += 1
            records.append((line, record))
    except csv.Error as error:
        raise FileRejected(line + 1, f"the CSV is malformed ({error}).") from None

    header_line, header = next((r for r in records if any(c.strip() for c in r[1])), (0, []))
    known = {*required, *optional}
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = normalise_header(raw)
        if not name:
            continue
        if name in columns:
            raise FileRejected(
                header_line, f"the column '{raw.strip()}' appears twice in the header."
            )
        if name in known:
            columns[name] = index
        else:
            ignored.append(raw.strip())
    missing = [c for c in required if c not in columns]
    if missing:
        if not columns:
            reason = (
                "the first row is not a header row. Put the column names in row 1: "
                + ", ".join(required)
                + " are required."
            )
        else:
            reason = "required column(s) missing: " + ", ".join(missing) + "."
            if ignored:
                reason += " Columns not recognised: " + ", ".join(ignored) + "."
        raise FileRejected(header_line or 1, reason)
    body = [(n, r) for n, r in records if n > header_line and any(c.strip() for c in r)]
    return Table(columns=columns, ignored_columns=ignored, width=len(header), records=body)


def check_width(table: Table, record: list[str]) -> str | None:
    """A reason when the record does not have one value per header column.

    Trailing empty cells beyond the header are tolerated (spreadsheets add them)."""
    if len(record) < table.width:
        return f"expected {table.width} values like the header, found {len(record)}."
    if len(record) > table.width and any(c.strip() for c in record[table.width :]):
        return f"expected {table.width} values like the header, found {len(record)}."
    return None


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_TIME_24 = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_TIME_12 = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])\.?\s*[Mm]\.?$")


def parse_date(value: str, column: str) -> date:
    """YYYY-MM-DD or MM/DD/YYYY (month first, as US practice systems export)."""
    text = value.strip()
    if not text:
        raise ValueError(f"{column} is required.")
    if m := _ISO_DATE.match(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _US_DATE.match(text):
        month, day, year = int(m[1]), int(m[2]), int(m[3])
    else:
        raise ValueError(f"{column} '{text}' is not a date; use YYYY-MM-DD or MM/DD/YYYY.")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{column} '{text}' is not a real calendar date.") from None


def parse_time(value: str, column: str) -> time:
    """HH:MM (24-hour) or h:MM AM/PM; seconds are accepted and kept."""
    text = value.strip()
    if not text:
        raise ValueError(f"{column} is required.")
    if m := _TIME_24.match(text):
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{column} '{text}' is not a time of day.")
    elif m := _TIME_12.match(text):
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
        if not 1 <= hour <= 12 or minute > 59 or second > 59:
            raise ValueError(f"{column} '{text}' is not a time of day.")
        hour = hour % 12 + (12 if m[4].lower() == "p" else 0)
    else:
        raise ValueError(f"{column} '{text}' is not a time; use HH:MM (24-hour) or h:MM AM/PM.")
    return time(hour, minute, second)
