"""CSV import from the main window: progress, a plain report, and nothing saved from a bad file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox

HEADER = "mrn,first_name,last_name,date_of_birth,phone\n"


def test_good_file_is_imported_and_sent_to_the_portal(qtbot, practice, make_desk, tmp_path: Path):
    desk = make_desk(practice)
    rows = "".join(
        f"IMP{n:04d},Ana,Ruiz{n},1984-03-{n % 28 + 1:02d},413-555-{n:04d}\n" for n in range(1500)
    )
    path = tmp_path / "patients.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    qtbot.waitUntil(lambda: desk.store.patient_count() >= 50, timeout=10_000)
    before = desk.store.patient_count()

    dialog = desk.window.start_import("patients", path)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20_000)
    assert "Imported 1,500 patients" in dialog.heading.text()
    assert "1,500 new" in dialog.heading.text()
    assert dialog.errors.isHidden()
    assert dialog.progress.isHidden()
    assert desk.store.patient_count() == before + 1500
    # Two outbox batches go to the portal and come back through the feed with portal ids.
    qtbot.waitUntil(lambda: desk.engine.status.outbox_pending == 0, timeout=20_000)
    qtbot.waitUntil(lambda: desk.store.unsynced_patient_count() == 0, timeout=20_000)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Close).click()


def test_bad_file_lists_each_problem_with_its_line_and_saves_nothing(
    qtbot, practice, make_desk, tmp_path: Path
):
    desk = make_desk(practice)
    qtbot.waitUntil(lambda: desk.store.patient_count() >= 50, timeout=10_000)
    before = desk.store.patient_count()
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "OK1,Ana,Ruiz,1984-03-02,\n"
        + "OK2,Ben,Ruiz,31/02/1984,\n"
        + "OK1,Cy,Ruiz,1990-01-01,\n"
        + "<b>X</b>,Dee,Ruiz,1990-01-01,\n",
        encoding="utf-8",
    )
    dialog = desk.window.start_import("patients", path)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    assert "3 problems were found in bad.csv, so nothing from it was imported" in (
        dialog.heading.text()
    )
    assert not dialog.errors.isHidden()
    lines = [dialog.errors.item(r, 0).text() for r in range(dialog.errors.rowCount())]
    assert lines == ["3", "4", "5"]
    assert desk.store.patient_count() == before
    assert desk.store.outbox_pending_count() == 0


def test_cancel_saves_nothing(qtbot, practice, make_desk, tmp_path: Path):
    desk = make_desk(practice)
    qtbot.waitUntil(lambda: desk.store.patient_count() >= 50, timeout=10_000)
    before = desk.store.patient_count()
    rows = "".join(f"CAN{n:06d},Ana,Ruiz,1984-03-02,\n" for n in range(60_000))
    path = tmp_path / "big.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    dialog = desk.window.start_import("patients", path)
    dialog.buttons.rejected.emit()  # the Cancel button
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=30_000)
    assert dialog.report.cancelled
    assert "Nothing from big.csv was saved" in dialog.heading.text()
    assert desk.store.patient_count() == before


def test_a_header_problem_is_the_file_not_a_row(qtbot, practice, make_desk, tmp_path: Path):
    desk = make_desk(practice)
    path = tmp_path / "no-names.csv"
    path.write_text("mrn,first_name,date_of_birth\nA1,Ann,1980-01-01\n", encoding="utf-8")
    dialog = desk.window.start_import("patients", path)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    heading = dialog.heading.text()
    assert heading.startswith("no-names.csv cannot be imported (the header, line 1):")
    assert "last_name" in heading and "Nothing was saved" in heading
    assert "row" not in heading and "problem" not in heading
    assert dialog.errors.isHidden()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Close).click()


def test_long_problems_wrap_and_ignored_columns_are_listed(
    qtbot, practice, make_desk, tmp_path: Path
):
    desk = make_desk(practice)
    qtbot.waitUntil(lambda: desk.store.patient_count() >= 50, timeout=10_000)
    long_mrn = "M" * 40  # a long value makes a long message
    path = tmp_path / "extra.csv"
    path.write_text(
        "mrn,first_name,last_name,middle_name,date_of_birth,sex,postal_code,Insurance Plan,notes\n"
        f"{long_mrn},{'Ann' * 40},{'Lee' * 40},{'Jo' * 101},1980-01-01,Q,{'9' * 13},Gold,hi\n",
        encoding="utf-8",
    )
    dialog = desk.window.start_import("patients", path)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    dialog.resize(640, 400)
    assert not dialog.ignored.isHidden()
    assert dialog.ignored.text().endswith("Insurance Plan, notes")
    table = dialog.errors
    assert not table.isHidden()
    assert table.wordWrap()
    assert table.horizontalScrollBar().maximum() == 0
    # The message wraps over several lines instead of running off the table.
    line_height = table.fontMetrics().height()
    qtbot.waitUntil(lambda: table.rowHeight(0) >= 2 * line_height, timeout=2_000)
    dialog.grab().save(str(tmp_path / "import-wrapped.png"))


def test_warnings_are_listed_after_a_good_import(qtbot, practice, make_desk, tmp_path: Path):
    desk = make_desk(practice)
    path = tmp_path / "hidden.csv"
    path.write_text(HEADER + "HID1,Eve\u202e,Lee,1980-01-01,\n", encoding="utf-8")
    dialog = desk.window.start_import("patients", path)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    assert "Imported 1 patients" in dialog.heading.text()
    assert "1 line needs a look" in dialog.heading.text()
    assert dialog.errors.horizontalHeaderItem(1).text() == "Worth a look"
    assert "U+202E" in dialog.errors.item(0, 1).text()
