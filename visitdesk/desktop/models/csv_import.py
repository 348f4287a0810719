"""Importing patients and appointments from the practice management system's CSV exports.

Both importers run off the GUI thread (they take seconds for large files); they report progress
through a callback and stop when a `threading.Event` is set.

**File format** (both files)

- UTF-8 text, with or without a byte order mark ("CSV UTF-8" in Excel). Any other encoding is
  refused with the line of the first unreadable byte; nothing is guessed.
- Comma separated, values may be quoted with double quotes (standard CSV).
- The first row is a header with column names. Names are matched case-insensitively, in any order,
  and spaces or hyphens count as underscores ("First Name" = first_name). Columns with other names
  are ignored (and listed in the report); a missing required column rejects the file.
- Every row must have as many values as the header (extra empty values at the end are tolerated).
  Entirely blank rows are skipped.
- Line numbers in errors are the row numbers a spreadsheet shows: the header is line 1.

**Patients**: `mrn`, `first_name`, `last_name`, `date_of_birth` are required; `middle_name`, `sex`,
`address_line1`, `address_line2`, `city`, `state`, `postal_code`, `phone`, `email` are optional.

- mrn: 1-32 letters, digits, ".", "_" or "-"; unique within the file.
- first_name, last_name: 1-100 characters.
- date_of_birth: YYYY-MM-DD or MM/DD/YYYY; not in the future and not before 1900-01-01.
- sex: F, M, X or U (any case); empty means U.
- postal_code up to 12 characters, phone up to 32, email up to 254, other text up to 200.

**Appointments**: `appointment_id`, `mrn`, `date`, `time`, `provider` are required;
`duration_minutes`, `location`, `reason`, `status` are optional.

- appointment_id: the practice system's id, 1-64 characters, unique within the file.
- mrn: must belong to a patient already in VisitDesk (import patients first).
- date: YYYY-MM-DD or MM/DD/YYYY, from 1900 up to the end of the year ten years ahead.
- time: HH:MM in 24-hour form (14:30) or h:MM AM/PM (2:30 PM); seconds are allowed.
  Date and time are local time of the practice's time zone. A time that does not exist because
  the clocks go forward is an error; a time that occurs twice when they go back means the first.
- duration_minutes: whole minutes, 1-1440; empty means 15.
- provider: 1-100 characters. location, reason: up to 200.
- status: scheduled or cancelled (also "canceled"); empty means scheduled.

**Hidden characters**: invisible formatting and control characters (a right-to-left override,
zero-width spaces, control codes) are removed from every value; they have no place in a name or an
address and could make one text look like another. Each removal is a warning in the report, as is
a patient whose name and address will not fit the envelope window of a statement.

**All or nothing**: every row is checked first. If any row is wrong, nothing from the file is saved
and the report lists each problem with its line. A good file is saved in one transaction: records
are matched by MRN (patients) or appointment_id (appointments), new and changed ones are saved and
queued for upload to the portal in batches of 1000; unchanged ones are left alone, so importing the
same file again changes nothing. Cancelling saves nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.commands import UPSERT_APPOINTMENTS, UPSERT_PATIENTS, StaffCommand
from visitdesk.api.text import hidden_characters, strip_hidden
from visitdesk.api.wire import AppointmentRecord, AppointmentUpsert, PatientRecord, PatientUpsert
from visitdesk.desktop.models import outbox
from visitdesk.desktop.models.bulk import bulk_insert, chunks
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.csv_read import (
    MAX_REPORTED_ERRORS,
    FileRejected,
    RowError,
    Table,
    check_width,
    parse_date,
    parse_time,
    read_table,
)
from visitdesk.desktop.models.feed import APPOINTMENT_FIELDS, PATIENT_FIELDS
from visitdesk.desktop.models.schema import Appointment, OutboxEntry, Patient, table_of
from visitdesk.desktop.models.store import LocalStore
from visitdesk.reports.address import patient_address_fits

Progress = Callable[[int, int], None]

#: Records per outbox item (one PUT to the portal).
UPLOAD_BATCH = 1000
#: Rows between progress reports and cancel checks.
PROGRESS_EVERY = 1000

EARLIEST_DATE = date(1900, 1, 1)

PATIENT_REQUIRED = ("mrn", "first_name", "last_name", "date_of_birth")
PATIENT_OPTIONAL = (
    "middle_name",
    "sex",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
)
APPOINTMENT_REQUIRED = ("appointment_id", "mrn", "date", "time", "provider")
APPOINTMENT_OPTIONAL = ("duration_minutes", "location", "reason", "status")


@dataclass
class ImportReport:
    """What an import did. Nothing was saved unless `ok`."""

    path: Path
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: All errors found; `errors` keeps the first MAX_REPORTED_ERRORS.
    error_count: int = 0
    cancelled: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    #: Outbox items queued (one per batch of up to 1000 records).
    outbox_items: int = 0
    #: Things imported but worth a look (hidden characters removed, an address too long for the
    #: envelope window); the first MAX_REPORTED_ERRORS, `warning_count` in all.
    warnings: list[RowError] = field(default_factory=list)
    warning_count: int = 0
    #: The file itself was refused (unreadable, no header, a required column missing): `errors`
    #: holds that one problem, and no row was looked at.
    file_rejected: bool = False

    @property
    def rows(self) -> int:
        """Same as `rows_read`."""
        return self.rows_read

    @property
    def ok(self) -> bool:
        return not self.error_count and not self.cancelled

    def add_error(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(line, reason))

    def add_warning(self, line: int, reason: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_REPORTED_ERRORS:
            self.warnings.append(RowError(line, reason))


class _Cancelled(Exception):
    pass


class _Ticker:
    """Calls `progress` every PROGRESS_EVERY steps and raises _Cancelled once `cancel` is set."""

    def __init__(self, total: int, progress: Progress | None, cancel: threading.Event | None):
        self.total = total
        self.progress = progress
        self.cancel = cancel
        self.done = 0

    def step(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.check()
            if self.progress is not None:
                self.progress(self.done, self.total)

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise _Cancelled

    def finish(self) -> None:
        self.check()
        if self.progress is not None and self.done % PROGRESS_EVERY:
            self.progress(self.total, self.total)


def _friendly(error: ValidationError) -> str:
    """One sentence per problem, in the CSV's column names rather than pydantic's jargon."""
    parts = []
    for detail in error.errors():
        column = str(detail["loc"][0]) if detail["loc"] else "row"
        column = {"external_id": "appointment_id", "starts_at": "date"}.get(column, column)
        kind = detail["type"]
        ctx = detail.get("ctx") or {}
        if kind in ("missing", "string_too_short"):
            parts.append(f"{column} is required.")
        elif kind == "string_too_long":
            parts.append(f"{column} is longer than {ctx.get('max_length')} characters.")
        elif kind == "string_pattern_mismatch" and column == "mrn":
            parts.append("mrn may only contain letters, digits, '.', '_' and '-'.")
        elif kind == "literal_error":
            parts.append(f"{column} must be one of {ctx.get('expected')}.")
        elif kind in ("less_than_equal", "greater_than_equal"):
            parts.append(f"{column} is out of range ({detail['msg'].lower()}).")
        else:
            parts.append(f"{column}: {detail['msg']}.")
    return " ".join(parts)


def _cells(table: Table, record: list[str], names: tuple[str, ...]) -> dict[str, str]:
    return {n: record[table.columns[n]].strip() for n in names if n in table.columns}


def _without_hidden(cells: dict[str, str], line: int, report: ImportReport) -> dict[str, str]:
    """`cells` with invisible formatting and control characters removed, each removal reported."""
    for column, value in cells.items():
        if found := hidden_characters(value):
            cells[column] = strip_hidden(value).strip()
            shown = ", ".join(dict.fromkeys(found))
            report.add_warning(
                line, f"{column}: removed invisible characters ({shown}) that could disguise it."
            )
    return cells


def _rows(table: Table, report: ImportReport, ticker: _Ticker) -> Iterator[tuple[int, list[str]]]:
    for line, record in table.records:
        ticker.step()
        if reason := check_width(table, record):
            report.add_error(line, reason)
            continue
        yield line, record


def _begin(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...]
) -> tuple[ImportReport, Table | None]:
    report = ImportReport(path=Path(path))
    try:
        table = read_table(path, required, optional)
    except FileRejected as rejected:
        report.add_error(*rejected.error)
        report.file_rejected = True
        return report, None
    report.ignored_columns = table.ignored_columns
    report.rows_read = len(table.records)
    return report, table


# --------------------------------------------------------------------------- patients


def _parse_patient(cells: dict[str, str], today: date) -> PatientRecord:
    dob = parse_date(cells.get("date_of_birth", ""), "date_of_birth")
    if dob > today:
        raise ValueError(f"date_of_birth {dob.isoformat()} is in the future.")
    if dob < EARLIEST_DATE:
        raise ValueError(f"date_of_birth {dob.isoformat()} is before 1900.")
    values: dict[str, Any] = dict(cells)
    values["date_of_birth"] = dob
    values["sex"] = cells.get("sex", "").upper() or "U"
    return PatientRecord.model_validate(values)


def import_patients_csv(
    store: LocalStore,
    path: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ImportReport:
    """Check and import a patients CSV (see the module docstring); all or nothing.

    `progress(done, total)` is called every 1000 steps from the calling thread; each row is one
    step when checked and one when saved, so `total` is twice the number of data rows.
    Setting `cancel` stops the import at the next report; nothing is saved then.
    """
    report, table = _begin(path, PATIENT_REQUIRED, PATIENT_OPTIONAL)
    if table is None:
        return report
    # Validation and writing each count once per row.
    ticker = _Ticker(2 * report.rows_read, progress, cancel)
    names = PATIENT_REQUIRED + PATIENT_OPTIONAL
    today = date.today()
    records: list[PatientRecord] = []
    first_line: dict[str, int] = {}
    try:
        for line, record in _rows(table, report, ticker):
            try:
                cells = _without_hidden(_cells(table, record, names), line, report)
                patient = _parse_patient(cells, today)
            except ValidationError as error:
                report.add_error(line, _friendly(error))
                continue
            except ValueError as error:
                report.add_error(line, str(error))
                continue
            if (seen := first_line.setdefault(patient.mrn, line)) != line:
                report.add_error(line, f"MRN {patient.mrn} appears twice (also on line {seen}).")
                continue
            if not patient_address_fits(patient):
                report.add_warning(
                    line,
                    "The name and address do not fit the envelope window of a statement; "
                    "shorten the address in the practice system before statements are mailed.",
                )
            records.append(patient)
        if report.error_count:
            return report
        with store.write() as uow:
            _write_patients(uow.session, records, report, ticker)
            ticker.finish()
    except _Cancelled:
        report.cancelled = True
        report.created = report.updated = report.unchanged = report.outbox_items = 0
    return report


def _patient_key(values: Any) -> tuple[Any, ...]:
    return tuple(getattr(values, f) for f in PATIENT_FIELDS)


def _write_patients(
    session: Session, records: list[PatientRecord], report: ImportReport, ticker: _Ticker
) -> None:
    table = table_of(Patient)
    existing: dict[str, tuple[Any, ...]] = {}
    columns = [table.c[f] for f in PATIENT_FIELDS]
    for part in chunks([r.mrn for r in records]):
        for found in session.execute(select(*columns).where(table.c.mrn.in_(part))):
            existing[found.mrn] = _patient_key(found)
    now = utcnow()
    changed: list[PatientRecord] = []
    rows: list[dict[str, Any]] = []
    for patient in records:
        ticker.step()
        before = existing.get(patient.mrn)
        if before is None:
            report.created += 1
        elif before != _patient_key(patient):
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        changed.append(patient)
        row = {f: getattr(patient, f) for f in PATIENT_FIELDS}
        row["updated_at"] = now
        rows.append(row)
    bulk_insert(session, table, rows, conflict="mrn", update=(*PATIENT_FIELDS, "updated_at"))
    _enqueue_uploads(session, report, "patients", changed)


#: The upload command of each kind of import, and how a batch of its records becomes the body.
_UPLOADS: dict[str, tuple[StaffCommand[Any], Callable[[list[Any]], BaseModel]]] = {
    "patients": (UPSERT_PATIENTS, lambda batch: PatientUpsert(patients=batch)),
    "appointments": (UPSERT_APPOINTMENTS, lambda batch: AppointmentUpsert(appointments=batch)),
}


def _enqueue_uploads(session: Session, report: ImportReport, kind: str, records: list[Any]) -> None:
    command, wrap = _UPLOADS[kind]
    batches = list(chunks(records, UPLOAD_BATCH))
    entries = [
        outbox.new_entry(
            command,
            {},
            wrap(list(batch)),
            f"Upload {len(batch)} {kind} from {report.path.name}"
            + (f" (part {n} of {len(batches)})" if len(batches) > 1 else ""),
        )
        for n, batch in enumerate(batches, start=1)
    ]
    bulk_insert(session, table_of(OutboxEntry), entries)
    report.outbox_items = len(entries)


# --------------------------------------------------------------------------- appointments


def _parse_appointment(cells: dict[str, str], tz: ZoneInfo, latest: date) -> AppointmentRecord:
    errors: list[str] = []
    starts_at: datetime | None = None
    try:
        day = parse_date(cells.get("date", ""), "date")
        if not EARLIEST_DATE <= day <= latest:
            raise ValueError(f"date {day.isoformat()} is outside 1900 to {latest.year}.")
        at = parse_time(cells.get("time", ""), "time")
        local = datetime.combine(day, at, tzinfo=tz)
        starts_at = local.astimezone(UTC)
        if starts_at.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
            raise ValueError(
                f"{day.isoformat()} {at.strftime('%H:%M')} does not exist in {tz.key} "
                "(the clocks go forward then)."
            )
    except ValueError as error:
        errors.append(str(error))
    duration_text = cells.get("duration_minutes", "")
    duration: Any = 15
    if duration_text:
        try:
            duration = int(duration_text)
        except ValueError:
            errors.append(f"duration_minutes '{duration_text}' is not a whole number of minutes.")
    status = cells.get("status", "").lower() or "scheduled"
    status = {"canceled": "cancelled"}.get(status, status)
    values: dict[str, Any] = {
        "external_id": cells.get("appointment_id", ""),
        "mrn": cells.get("mrn", ""),
        "starts_at": starts_at or datetime(2000, 1, 1, tzinfo=UTC),
        "duration_minutes": duration,
        "provider": cells.get("provider", ""),
        "location": cells.get("location", ""),
        "reason": cells.get("reason", ""),
        "status": status,
    }
    try:
        record = AppointmentRecord.model_validate(values)
    except ValidationError as error:
        errors.append(_friendly(error))
        raise ValueError(" ".join(errors)) from None
    if errors:
        raise ValueError(" ".join(errors))
    return record


def import_appointments_csv(
    store: LocalStore,
    path: Path,
    *,
    timezone: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ImportReport:
    """Check and import an appointments CSV (see the module docstring); all or nothing.

    `timezone` is the practice's IANA zone (e.g. "America/New_York"); by default the one stored
    with the practice metadata. `progress` and `cancel` work as for `import_patients_csv`.
    """
    if timezone is None:
        practice = store.practice()
        if practice is None:
            raise ValueError("no practice time zone known; pass timezone=")
        timezone = practice.timezone
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    report, table = _begin(path, APPOINTMENT_REQUIRED, APPOINTMENT_OPTIONAL)
    if table is None:
        return report
    ticker = _Ticker(2 * report.rows_read, progress, cancel)
    names = APPOINTMENT_REQUIRED + APPOINTMENT_OPTIONAL
    today = date.today()
    latest = date(today.year + 10, 12, 31)
    known_mrns = store.patient_mrns()
    records: list[AppointmentRecord] = []
    first_line: dict[str, int] = {}
    try:
        for line, record in _rows(table, report, ticker):
            try:
                cells = _without_hidden(_cells(table, record, names), line, report)
                appointment = _parse_appointment(cells, tz, latest)
            except ValueError as error:
                report.add_error(line, str(error))
                continue
            if (seen := first_line.setdefault(appointment.external_id, line)) != line:
                report.add_error(
                    line,
                    f"appointment_id {appointment.external_id} appears twice "
                    f"(also on line {seen}).",
                )
                continue
            if appointment.mrn not in known_mrns:
                report.add_error(
                    line, f"no patient with MRN {appointment.mrn}; import the patients first."
                )
                continue
            records.append(appointment)
        if report.error_count:
            return report
        with store.write() as uow:
            _write_appointments(uow.session, records, report, ticker)
            ticker.finish()
    except _Cancelled:
        report.cancelled = True
        report.created = report.updated = report.unchanged = report.outbox_items = 0
    return report


_APPOINTMENT_COMPARED = ("mrn", *APPOINTMENT_FIELDS)


def _write_appointments(
    session: Session, records: list[AppointmentRecord], report: ImportReport, ticker: _Ticker
) -> None:
    table = table_of(Appointment)
    patients = table_of(Patient)
    existing: dict[str, tuple[Any, ...]] = {}
    columns = [table.c.patient_mrn, *(table.c[f] for f in APPOINTMENT_FIELDS)]
    for part in chunks([r.external_id for r in records]):
        for found in session.execute(select(*columns).where(table.c.external_id.in_(part))):
            existing[found.external_id] = tuple(found)
    portal_ids: dict[str, str | None] = {}
    for part in chunks(sorted({r.mrn for r in records})):
        query = select(patients.c.mrn, patients.c.portal_id).where(patients.c.mrn.in_(part))
        portal_ids.update((mrn, pid) for mrn, pid in session.execute(query))
    changed: list[AppointmentRecord] = []
    rows: list[dict[str, Any]] = []
    for appointment in records:
        ticker.step()
        before = existing.get(appointment.external_id)
        if before is None:
            report.created += 1
        elif before != tuple(getattr(appointment, f) for f in _APPOINTMENT_COMPARED):
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        changed.append(appointment)
        row = {f: getattr(appointment, f) for f in APPOINTMENT_FIELDS}
        row["patient_mrn"] = appointment.mrn
        row["patient_portal_id"] = portal_ids.get(appointment.mrn)
        rows.append(row)
    fields = (*APPOINTMENT_FIELDS, "patient_mrn", "patient_portal_id")
    bulk_insert(session, table, rows, conflict="external_id", update=fields)
    _enqueue_uploads(session, report, "appointments", changed)
