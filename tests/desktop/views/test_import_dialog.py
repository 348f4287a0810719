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
    assert "nothing from bad.csv was imported" in dialog.heading.text()
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
