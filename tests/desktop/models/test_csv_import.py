from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.desktop.models.factories import patients_csv, write_csv
from visitdesk.desktop.models import (
    LocalStore,
    PracticeMeta,
    RowError,
    import_appointments_csv,
    import_patients_csv,
)
from visitdesk.desktop.models.schema import Appointment, Patient

HEADER = "mrn,first_name,last_name,date_of_birth"


def _nothing_saved(store: LocalStore) -> None:
    assert store.patient_count() == 0
    assert store.outbox_pending_count() == 0


# --------------------------------------------------------------------------- bad patient files


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("", [RowError(1, "the file is empty; expected a header row and data rows.")]),
        ("\n\n", [RowError(1, "the file is empty; expected a header row and data rows.")]),
    ],
)
def test_empty_file(store: LocalStore, tmp_path: Path, text: str, errors: list[RowError]) -> None:
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text))
    assert report.errors == errors and not report.ok
    _nothing_saved(store)


def test_missing_header(store: LocalStore, tmp_path: Path) -> None:
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", "M1,Ann,Lee,1980-01-02\n"))
    assert [e.line for e in report.errors] == [1]
    assert "not a header row" in report.errors[0].reason
    _nothing_saved(store)


def test_missing_required_columns_names_them(store: LocalStore, tmp_path: Path) -> None:
    text = "MRN,First Name,Surname,DOB\nM1,Ann,Lee,1980-01-02\n"
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text))
    assert report.errors == [
        RowError(
            1,
            "required column(s) missing: last_name, date_of_birth. "
            "Columns not recognised: Surname, DOB.",
        )
    ]
    _nothing_saved(store)


def test_duplicate_column(store: LocalStore, tmp_path: Path) -> None:
    text = "mrn,first_name,last_name,date_of_birth,MRN\n"
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text))
    assert report.errors[0].line == 1 and "appears twice" in report.errors[0].reason


def test_bad_rows_are_all_reported_with_spreadsheet_lines(
    store: LocalStore, tmp_path: Path
) -> None:
    future = (date.today() + timedelta(days=1)).isoformat()
    text = "\n".join(
        [
            "first_name,last_name,mrn,date_of_birth,sex,extra",  # line 1, order free, extra column
            "Ann,Lee,M1,1980-01-02,F,x",  # 2 good
            'Bo,"Multi\nLine",M2,02/30/1990,M,x',  # 3 bad date (spans two physical lines)
            "Cy,Poe,M3,1990-13-01,,x",  # 4 bad month
            "Di,Ray,M1,1970-01-01,,x",  # 5 duplicate MRN
            f"Ed,Sun,M5,{future},,x",  # 6 future DOB
            "Fay,Ng,M6,1899-12-31,,x",  # 7 before 1900
            "Gus,Ox,M7,1980-01-02",  # 8 ragged (short)
            "Hal,Oz,M8,1980-01-02,F,x,surprise",  # 9 ragged (long)
            ",Oz,M9,1980-01-02,F,x",  # 10 missing first name
            "Ida,Oz,M 10,1980-01-02,Q,x",  # 11 bad MRN and sex
            "",  # 12 blank: skipped
            "Jo,Oz,M11,not a date,,x",  # 13
        ]
    )
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text + "\n"))
    assert report.ignored_columns == ["extra"]
    lines = [e.line for e in report.errors]
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13]
    reasons = dict(report.errors)
    assert "not a real calendar date" in reasons[3]
    assert "not a real calendar date" in reasons[4]
    assert reasons[5] == "MRN M1 appears twice (also on line 2)."
    assert "in the future" in reasons[6]
    assert "before 1900" in reasons[7]
    assert "expected 6 values" in reasons[8] and "found 4" in reasons[8]
    assert "found 7" in reasons[9]
    assert reasons[10] == "first_name is required."
    assert "mrn may only contain" in reasons[11] and "sex must be one of" in reasons[11]
    assert "YYYY-MM-DD or MM/DD/YYYY" in reasons[13]
    assert report.error_count == 10 and not report.ok
    _nothing_saved(store)


def test_latin1_file_is_refused_with_its_line(store: LocalStore, tmp_path: Path) -> None:
    text = f"{HEADER}\nM1,Ann,Lee,1980-01-02\nM2,José,Núñez,1980-01-02\n"
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text, encoding="latin-1"))
    assert [e.line for e in report.errors] == [3]
    assert "not UTF-8" in report.errors[0].reason and "CSV UTF-8" in report.errors[0].reason
    _nothing_saved(store)


def test_utf8_with_bom_and_crlf_is_fine(store: LocalStore, tmp_path: Path) -> None:
    text = f"\ufeff{HEADER},middle_name\r\nM1,José,Núñez,1980-01-02,Ana María\r\n"
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text))
    assert report.ok and report.created == 1
    with store.read() as s:
        patient = s.scalars(select(Patient)).one()
    assert (patient.first_name, patient.last_name, patient.middle_name) == (
        "José",
        "Núñez",
        "Ana María",
    )


def test_malformed_quoting(store: LocalStore, tmp_path: Path) -> None:
    text = f'{HEADER}\nM1,Ann,Lee,1980-01-02\nM2,"Bo"x,Lee,1980-01-02\n'
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text))
    assert [e.line for e in report.errors] == [3]
    _nothing_saved(store)


def test_missing_file(store: LocalStore, tmp_path: Path) -> None:
    report = import_patients_csv(store, tmp_path / "nope.csv")
    assert not report.ok and "cannot be opened" in report.errors[0].reason


# --------------------------------------------------------------------------- good patient files


def test_good_file_imports_once_and_queues_batches(store: LocalStore, tmp_path: Path) -> None:
    path = patients_csv(tmp_path / "p.csv", 2500)
    calls: list[tuple[int, int]] = []
    report = import_patients_csv(store, path, progress=lambda d, t: calls.append((d, t)))
    assert report.ok
    assert (report.rows_read, report.created, report.updated, report.unchanged) == (
        2500,
        2500,
        0,
        0,
    )
    assert report.outbox_items == 3
    assert store.patient_count() == 2500 and store.unsynced_patient_count() == 2500
    items = store.pending_outbox_items()
    assert [(i.command, i.params) for i in items] == [("upsert_patients", {})] * 3
    assert [len(i.body["patients"]) for i in items] == [1000, 1000, 500]  # type: ignore[index]
    assert items[0].description == "Upload 1000 patients from p.csv (part 1 of 3)"
    assert items[0].body["patients"][0] == {  # type: ignore[index]
        "mrn": "M000000",
        "first_name": "First0",
        "last_name": "Last0",
        "middle_name": "",
        "date_of_birth": "1970-01-01",
        "sex": "F",
        "address_line1": "",
        "address_line2": "",
        "city": "",
        "state": "",
        "postal_code": "",
        "phone": "",
        "email": "p0@example.com",
    }
    # Progress every 1000 steps (a check and a save per row), never per row, ending at the total.
    assert calls == [(d, 5000) for d in (1000, 2000, 3000, 4000, 5000)]

    again = import_patients_csv(store, path)
    assert (again.created, again.updated, again.unchanged, again.outbox_items) == (0, 0, 2500, 0)
    assert store.outbox_pending_count() == 3


def test_changed_rows_are_updated_and_only_they_are_queued(
    store: LocalStore, tmp_path: Path
) -> None:
    write_csv(
        tmp_path / "a.csv", f"{HEADER},phone\nM1,Ann,Lee,1980-01-02,1\nM2,Bo,Ray,1980-01-02,2\n"
    )
    import_patients_csv(store, tmp_path / "a.csv")
    for item in store.pending_outbox_items():
        store.outbox_sent(item.id, {})
    write_csv(
        tmp_path / "b.csv",
        f"{HEADER},phone\nM1,Ann,Lee,1980-01-02,1\nM2,Bo,Ray,01/02/1980,99\nM3,Cy,Poe,1990-05-06,\n",
    )
    report = import_patients_csv(store, tmp_path / "b.csv")
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    (item,) = store.pending_outbox_items()
    assert [p["mrn"] for p in item.body["patients"]] == ["M2", "M3"]  # type: ignore[index]
    assert item.description == "Upload 2 patients from b.csv"


def test_us_dates_sex_case_and_header_spelling(store: LocalStore, tmp_path: Path) -> None:
    text = "MRN, First Name ,last-name,Date Of Birth,SEX\nM1,Ann,Lee,7/4/1976,f\n"
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", text))
    assert report.ok
    with store.read() as s:
        patient = s.scalars(select(Patient)).one()
    assert (patient.date_of_birth, patient.sex) == (date(1976, 7, 4), "F")


def test_cancel_saves_nothing(store: LocalStore, tmp_path: Path) -> None:
    path = patients_csv(tmp_path / "p.csv", 3000)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 4000:  # in the saving phase
            cancel.set()

    report = import_patients_csv(store, path, progress=progress, cancel=cancel)
    assert report.cancelled and not report.ok
    assert (report.created, report.outbox_items) == (0, 0)
    _nothing_saved(store)


def test_cancel_before_start(store: LocalStore, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    report = import_patients_csv(store, patients_csv(tmp_path / "p.csv", 1500), cancel=cancel)
    assert report.cancelled
    _nothing_saved(store)


# --------------------------------------------------------------------------- appointments

APPT_HEADER = "appointment_id,mrn,date,time,duration_minutes,provider,location,reason,status"


@pytest.fixture
def practice_store(store: LocalStore, tmp_path: Path) -> LocalStore:
    store.set_practice(
        PracticeMeta(
            id="pr1", code="N", name="North", timezone="America/New_York", portal_url="https://p"
        )
    )
    write_csv(tmp_path / "patients.csv", f"{HEADER}\nM1,Ann,Lee,1980-01-02\nM2,Bo,Ray,1980-01-02\n")
    assert import_patients_csv(store, tmp_path / "patients.csv").ok
    for item in store.pending_outbox_items():
        store.outbox_sent(item.id, {})
    return store


def _appointments(store: LocalStore) -> list[tuple[object, ...]]:
    with store.read() as s:
        rows = s.execute(
            select(
                Appointment.external_id,
                Appointment.patient_mrn,
                Appointment.starts_at,
                Appointment.duration_minutes,
                Appointment.status,
            ).order_by(Appointment.external_id)
        )
        return [tuple(r) for r in rows]


def test_appointments_import_in_practice_time(practice_store: LocalStore, tmp_path: Path) -> None:
    text = "\n".join(
        [
            APPT_HEADER,
            "E1,M1,2024-07-01,09:30,30,Dr. A,Room 1,Checkup,",
            "E2,M2,01/15/2024,2:05 PM,,Dr. B,,,Canceled",
            "E3,M1,2024-01-15,12:00 am,,Dr. B,,,scheduled",
        ]
    )
    report = import_appointments_csv(practice_store, write_csv(tmp_path / "a.csv", text))
    assert report.ok and report.created == 3
    assert _appointments(practice_store) == [
        ("E1", "M1", datetime(2024, 7, 1, 13, 30, tzinfo=UTC), 30, "scheduled"),
        ("E2", "M2", datetime(2024, 1, 15, 19, 5, tzinfo=UTC), 15, "cancelled"),
        ("E3", "M1", datetime(2024, 1, 15, 5, 0, tzinfo=UTC), 15, "scheduled"),
    ]
    (item,) = practice_store.pending_outbox_items()
    assert (item.command, item.params) == ("upsert_appointments", {})
    assert item.body["appointments"][0]["starts_at"] == "2024-07-01T13:30:00Z"  # type: ignore[index]

    again = import_appointments_csv(practice_store, tmp_path / "a.csv")
    assert (again.unchanged, again.outbox_items) == (3, 0)

    moved = text.replace("2024-07-01,09:30", "2024-07-01,10:30")
    report = import_appointments_csv(
        practice_store, write_csv(tmp_path / "b.csv", moved), timezone="America/Chicago"
    )
    # A different zone moves every appointment.
    assert (report.updated, report.unchanged) == (3, 0)
    assert _appointments(practice_store)[0][2] == datetime(2024, 7, 1, 15, 30, tzinfo=UTC)


def test_bad_appointment_rows(practice_store: LocalStore, tmp_path: Path) -> None:
    text = "\n".join(
        [
            APPT_HEADER,
            "E1,M1,2024-07-01,09:30,30,Dr. A,,,",  # 2 good
            "E2,NOPE,2024-07-01,09:30,,Dr. A,,,",  # 3 unknown MRN
            "E1,M2,2024-07-01,10:30,,Dr. A,,,",  # 4 duplicate id
            "E4,M1,2024-03-10,02:30,,Dr. A,,,",  # 5 does not exist (DST gap)
            "E5,M1,2024-07-01,25:00,,Dr. A,,,",  # 6 bad time
            "E6,M1,2024-07-01,9:30,ten,,,,",  # 7 bad duration, missing provider
            "E7,M1,2024-07-01,9:30,0,Dr. A,,,done",  # 8 duration out of range, bad status
            "E8,M1,1899-07-01,9:30,,Dr. A,,,",  # 9 too early
        ]
    )
    report = import_appointments_csv(practice_store, write_csv(tmp_path / "a.csv", text))
    reasons = dict(report.errors)
    assert list(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert reasons[3] == "no patient with MRN NOPE; import the patients first."
    assert reasons[4] == "appointment_id E1 appears twice (also on line 2)."
    assert "does not exist in America/New_York" in reasons[5]
    assert "not a time of day" in reasons[6]
    assert "not a whole number" in reasons[7] and "provider is required" in reasons[7]
    assert (
        "duration_minutes is out of range" in reasons[8] and "status must be one of" in reasons[8]
    )
    assert "outside 1900" in reasons[9]
    assert _appointments(practice_store) == []
    assert practice_store.outbox_pending_count() == 0


def test_appointments_missing_columns(practice_store: LocalStore, tmp_path: Path) -> None:
    text = "appointment_id,mrn,when,provider\nE1,M1,2024-07-01 09:30,Dr. A\n"
    report = import_appointments_csv(practice_store, write_csv(tmp_path / "a.csv", text))
    assert report.errors == [
        RowError(1, "required column(s) missing: date, time. Columns not recognised: when.")
    ]


def test_appointments_need_a_time_zone(store: LocalStore, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", APPT_HEADER + "\n")
    with pytest.raises(ValueError, match="time zone"):
        import_appointments_csv(store, path)
    with pytest.raises(ValueError, match="unknown time zone"):
        import_appointments_csv(store, path, timezone="Mars/Olympus")
