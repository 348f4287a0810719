"""Run the real demo offscreen and save screenshots of the desk, as a user would see it.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py OUT_DIR

Starts `visitdesk --demo` in-process (seeded portal over TLS, patient simulator), waits for a few
I'm Here taps to reach the board, checks three patients in at the desk, rooms, acknowledges and
finishes a visit, opens the waiting-room display, answers a patient's message, and grabs the
windows into OUT_DIR.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.app import VisitDeskApp, load_stylesheet
from visitdesk.desktop.settings import Settings
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.desktop.views.sign_in import SignInDialog


async def shoot(desk: VisitDeskApp, out: Path) -> None:
    while desk.running is None:
        await asyncio.sleep(0.2)
    running = desk.running
    running.window.resize(1280, 800)  # the size the README promises every screen fits
    board = running.window.checkins
    running.window.resize(1280, 800)
    while board.model.rowCount() < 3:
        await asyncio.sleep(0.5)
    # Patients without the app are checked in at the desk from the schedule.
    scheduled = [
        r for r in board.schedule_model.rows if r.state == "scheduled" and r.appointment_id
    ]
    for row in scheduled[len(scheduled) // 3 : len(scheduled) // 3 + 3]:
        board.check_in(str(row.patient_id), row.appointment_id)
        await asyncio.sleep(0.5)
    while board.model.rowCount() < 6:
        await asyncio.sleep(0.5)
    first = board.model.row_at(0)
    second = board.model.row_at(1)
    third = board.model.row_at(2)
    assert first is not None and second is not None and third is not None
    board.select_id(first.id)
    board._set_status(CheckInStatus.ROOMED)
    await asyncio.sleep(1)
    board.select_id(second.id)
    board._set_status(CheckInStatus.ACKNOWLEDGED)
    await asyncio.sleep(1)
    board.select_id(third.id)
    board._set_status(CheckInStatus.DONE)
    await asyncio.sleep(2)
    board.select_id(board.model.row_at(0).id)  # type: ignore[union-attr]
    now_row = next(
        (n for n, r in enumerate(board.schedule_model.rows) if r.state != "scheduled"), 0
    )
    board.schedule_table.scrollTo(board.schedule_model.index(max(now_row - 2, 0), 0))
    await asyncio.sleep(0.5)
    running.window.grab().save(str(out / "checkins.png"))
    room = board.open_waiting_room()
    await asyncio.sleep(1)
    room.grab().save(str(out / "waiting-room.png"))
    room.close()

    running.window.lock()
    await asyncio.sleep(0.3)
    running.window.grab().save(str(out / "locked.png"))
    running.window.unlock()

    bad = out / "patients-with-problems.csv"
    bad.write_text(
        "mrn,first_name,last_name,date_of_birth,phone\n"
        "A100,Ana,Ruiz,1984-03-02,413-555-0101\n"
        "A101,Ben,Ortiz,02/31/1984,413-555-0102\n"
        "A100,Cy,Ng,1990-01-01,\n"
        "A103,,Diaz,1990-01-01,\n"
        "A104,Eve,Stone,2031-01-01,\n",
        encoding="utf-8",
    )
    importing = running.window.start_import("patients", bad)
    while importing.report is None:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    importing.grab().save(str(out / "import-problems.png"))
    importing.close()
    bad.unlink()

    window = running.window
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]

    def show(prefix: str) -> None:
        window.sidebar.setCurrentRow(next(i for i, t in enumerate(titles) if t.startswith(prefix)))

    # Security codes: find a patient, issue a code; the panel shows it once.
    show("Security codes")
    codes = window.security_codes
    codes.search.field.setText("sm")
    while codes.search.model.rowCount() == 0:
        await asyncio.sleep(0.2)
    codes.search.select_row(0)
    await asyncio.sleep(0.5)
    codes.issue()
    await asyncio.sleep(3)
    window.grab().save(str(out / "security-codes.png"))

    # Registrations: the simulator sends some that match no single record.
    show("Registrations")
    for _ in range(120):
        if window.registrations.queue_model.rowCount() > 0:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)
    window.grab().save(str(out / "registrations.png"))

    # myInfo: the simulator sends a few changes at the start.
    show("myInfo")
    for _ in range(60):
        if window.myinfo.fields_model.rowCount() > 0:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    window.grab().save(str(out / "myinfo.png"))
    # Messages: the simulator's patients write in; open the newest thread and answer it.
    show("Messages")
    inbox = window.messages
    assert inbox is not None  # the demo signs in as the office manager, who has Messages
    while inbox.model.rowCount() == 0:
        await asyncio.sleep(0.5)
    newest = inbox.model.row_at(0)
    assert newest is not None
    inbox.select_id(newest.id)
    while inbox.thread.detail is None:
        await asyncio.sleep(0.2)
    inbox.thread.composer.setPlainText("Thank you for your message. We will call you back today.")
    inbox.thread.send()
    await asyncio.sleep(3)
    window.grab().save(str(out / "messages.png"))

    # Statements: preview a run.
    show("Statements")
    statements = window.statements
    statements.reload()
    await asyncio.sleep(1)
    statements.run_preview()
    await asyncio.sleep(3)
    statements.generate()
    await asyncio.sleep(1)
    while statements.running:
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    window.grab().save(str(out / "statements.png"))
    result = statements.last_result
    if result is not None:
        # The first statement of the run, for a look as a PNG (pdftoppm).
        (out / "statement-run.pdf").write_bytes(result.combined_path.read_bytes())

    dialog = SignInDialog(
        desk.runner,
        lambda request: None,
        Settings(portal_url="https://portal.example-clinic.org", practice_code="maplegrove"),
    )
    dialog.show()
    await asyncio.sleep(0.3)
    dialog.grab().save(str(out / "sign-in.png"))
    dialog.close()


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "shots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    app.setStyleSheet(load_stylesheet())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    runner = TaskRunner()
    data_dir = Path(tempfile.mkdtemp(prefix="visitdesk-shots-"))
    desk = VisitDeskApp(
        data_dir, runner, demo=True, demo_patients=2000, demo_interval=1.0, demo_role="manager"
    )
    desk.finished = loop.create_future()
    desk.start()
    with loop:
        loop.run_until_complete(asyncio.wait_for(shoot(desk, out), timeout=180))
        desk.quit()
    runner.shutdown(wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
