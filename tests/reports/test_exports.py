"""CSV exports are safe to open in a spreadsheet; table reports escape patient text and page."""

from __future__ import annotations

import csv
import io

from pypdf import PdfReader

from visitdesk.reports.csv_export import csv_bytes, safe_cell
from visitdesk.reports.table_report import TableReport, render_table_report


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_made_text() -> None:
    for risky in ('=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"):
        assert safe_cell(risky) == "'" + risky
    for plain in ("Nguyen", "", "O'Brien", "a=b", "12-3"):
        assert safe_cell(plain) == plain
    assert safe_cell(None) == "" and safe_cell(42) == "42"


def test_csv_bytes_round_trip_with_bom_and_crlf() -> None:
    data = csv_bytes(("Name", "Note"), [('Zoë, "Z"', "=1+1"), ("Ann", "line\nbreak")])
    assert data.startswith("\ufeff".encode())
    assert b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["Name", "Note"], ['Zoë, "Z"', "'=1+1"], ["Ann", "line\nbreak"]]


def test_table_report_escapes_markup_and_numbers_pages() -> None:
    rows = [(f"<b>Patient {n}</b> & Nguyễn", "x") for n in range(200)]
    pdf = render_table_report(TableReport("Audit", "Practice", ("Who", "What"), rows))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    first = reader.pages[0].extract_text()
    assert "<b>Patient 0</b> & Nguyễn" in first
    assert f"Page 1 of {len(reader.pages)}" in first


def test_an_empty_table_report_says_why() -> None:
    pdf = render_table_report(TableReport("Audit", "Practice", ("Who",), [], empty_text="None."))
    assert "None." in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
