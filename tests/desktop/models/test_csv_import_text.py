"""CSV imports keep invisible characters out of names and flag addresses too long for the envelope."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.desktop.models.factories import write_csv
from visitdesk.desktop.models import LocalStore, import_patients_csv
from visitdesk.desktop.models.schema import Patient

HEADER = "mrn,first_name,last_name,date_of_birth,address_line1,address_line2,city,state,postal_code"


def test_hidden_characters_are_removed_from_names_and_reported(
    store: LocalStore, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        f"{HEADER}\n"
        "A1,Eve\u202e,Lee\u200b\u200b,1980-03-01,12 Main St,,Springfield,MA,01103\n"
        "A2,Nguyễn,Wałęsa,1975-05-06,,,,,\n",
    )
    report = import_patients_csv(store, path)
    assert report.ok and report.created == 2
    assert [(w.line, w.reason) for w in report.warnings] == [
        (2, "first_name: removed invisible characters (U+202E) that could disguise it."),
        (2, "last_name: removed invisible characters (U+200B) that could disguise it."),
    ]
    assert report.warning_count == 2
    with store.read() as session:
        names = {p.mrn: (p.first_name, p.last_name) for p in session.scalars(select(Patient))}
    assert names == {"A1": ("Eve", "Lee"), "A2": ("Nguyễn", "Wałęsa")}


def test_an_address_too_long_for_the_envelope_window_is_imported_and_flagged(
    store: LocalStore, tmp_path: Path
) -> None:
    street = "1200 North Brookside Meadows Parkway Building 4 Apartment 1100"
    path = write_csv(
        tmp_path / "p.csv",
        f"{HEADER}\n"
        f"A1,Ann,Lee,1980-03-01,{street},Suite 4100 Attention Accounts Payable,Springfield,MA,01103\n"
        "A2,Bo,Ng,1980-03-01,14 Elm Street Apt 3,,Springfield,MA,01103\n",
    )
    report = import_patients_csv(store, path)
    assert report.ok and report.created == 2
    assert [w.line for w in report.warnings] == [2]
    assert "do not fit the envelope window" in report.warnings[0].reason


def test_a_file_refused_as_a_whole_says_so(store: LocalStore, tmp_path: Path) -> None:
    report = import_patients_csv(store, write_csv(tmp_path / "p.csv", "mrn,first_name\nA1,Ann\n"))
    assert report.file_rejected and not report.ok
    assert len(report.errors) == 1 and report.errors[0].line == 1
