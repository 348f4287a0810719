"""The check-in desk against the real portal over TLS (pytest-qt, offscreen): the schedule beside
the arrivals, the keyboard flow, desk check-ins and walk-ins, no-shows, turned-away taps, the
practice's rules, the waiting-room display; two desks see the same states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication
from sqlalchemy import update

from tests.patient_api import patient_check_in
from visitdesk.api.wire_checkins import CheckInSettings
from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.models import messages
from visitdesk.desktop.views.checkin_dialogs import CheckInRulesDialog, WalkInDialog
from visitdesk.desktop.views.checkins_table import STATE_COLUMN, STATUS_COLUMN
from visitdesk.portal.persistence.models import Appointment as PortalAppointment


def arrival_statuses(desk) -> dict[str, str]:
    model = desk.window.checkins.model
    return {row.id: model.data(model.index(n, STATUS_COLUMN)) for n, row in enumerate(model.rows)}


def schedule_state(desk, appointment_id: str) -> str | None:
    model = desk.window.checkins.schedule_model
    for number, row in enumerate(model.rows):
        if row.appointment_id == appointment_id:
            return model.data(model.index(number, STATE_COLUMN))
    return None


def ready(qtbot, desk, appointments: int = 1) -> None:
    board = desk.window.checkins
    qtbot.waitUntil(lambda: desk.engine.status.online is True, timeout=10_000)
    qtbot.waitUntil(lambda: board.schedule_model.rowCount() >= appointments, timeout=10_000)


def key(qtbot, widget, letter: str) -> None:
    widget.window().activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=5_000)
    qtbot.keyClick(widget, getattr(Qt.Key, f"Key_{letter}"))


def not_on_the_app(desk, practice) -> tuple[str, str]:
    """(patient id, appointment id) of a scheduled patient without a portal account."""
    linked = {pid for account in practice.patients for pid in account.patient_ids}
    row = next(
        r
        for r in desk.window.checkins.schedule_model.rows
        if r.patient_id not in linked and r.state == "scheduled" and r.appointment_id
    )
    return row.patient_id, row.appointment_id


@pytest.fixture
def styled():
    app = QApplication.instance()
    app.setStyleSheet(load_stylesheet())
    yield
    app.setStyleSheet("")


def test_keyboard_flow_acknowledge_room_done_reaches_a_second_desk(qtbot, practice, make_desk):
    front, back = make_desk(practice, name="front"), make_desk(practice, name="back")
    checkin = patient_check_in(practice)
    for desk in (front, back):
        qtbot.waitUntil(lambda d=desk: checkin["id"] in arrival_statuses(d), timeout=5_000)
        qtbot.waitUntil(
            lambda d=desk: schedule_state(d, checkin["appointment_id"]) == "Arrived (app)",
            timeout=5_000,
        )
    board = front.window.checkins
    board.select_id(checkin["id"])
    for letter, shown in (("A", "Acknowledged"), ("R", "Roomed"), ("D", "Done")):
        key(qtbot, board.table, letter)
        qtbot.waitUntil(lambda s=shown: arrival_statuses(front)[checkin["id"]] == s, timeout=5_000)
        qtbot.waitUntil(
            lambda s=shown: schedule_state(back, checkin["appointment_id"]) == s, timeout=10_000
        )
    row = back.window.checkins.schedule_model.rows[
        next(
            n
            for n, r in enumerate(back.window.checkins.schedule_model.rows)
            if r.appointment_id == checkin["appointment_id"]
        )
    ]
    assert row.changed_by == practice.staff["front_desk"].name
    assert not board.done_button.isEnabled()


def test_buttons_change_states_with_the_mouse(qtbot, practice, make_desk):
    desk = make_desk(practice)
    checkin = patient_check_in(practice)
    board = desk.window.checkins
    qtbot.waitUntil(lambda: checkin["id"] in arrival_statuses(desk), timeout=5_000)
    board.select_id(checkin["id"])
    for button, shown in (
        (board.acknowledge_button, "Acknowledged"),
        (board.roomed_button, "Roomed"),
        (board.done_button, "Done"),
    ):
        qtbot.waitUntil(button.isEnabled, timeout=5_000)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda s=shown: arrival_statuses(desk)[checkin["id"]] == s, timeout=5_000)
    qtbot.waitUntil(lambda: desk.engine.status.outbox_pending == 0, timeout=10_000)


def test_desk_check_in_from_the_schedule_reaches_the_other_desk(qtbot, practice, make_desk):
    front, back = make_desk(practice, name="front"), make_desk(practice, name="back")
    ready(qtbot, front)
    ready(qtbot, back)
    patient_id, appointment_id = not_on_the_app(front, practice)
    board = front.window.checkins
    board.select_appointment(appointment_id)
    key(qtbot, board.schedule_table, "I")
    qtbot.waitUntil(
        lambda: schedule_state(front, appointment_id) == "Arrived (desk)", timeout=5_000
    )
    assert "Arrived (desk)" in arrival_statuses(front).values()
    assert board.selected_arrival() is not None
    assert board.selected_arrival().patient_id == patient_id
    qtbot.waitUntil(lambda: front.engine.status.outbox_pending == 0, timeout=10_000)
    qtbot.waitUntil(
        lambda: schedule_state(back, appointment_id) == "Arrived (desk)", timeout=10_000
    )
    # The same patient again (the mouse this time): refused here, nothing queued.
    board.select_appointment(appointment_id)
    assert not board.desk_check_in_button.isEnabled()


def test_desk_check_in_button_and_waiting_room(qtbot, practice, make_desk, styled, tmp_path):
    desk = make_desk(practice)
    ready(qtbot, desk)
    desk.window.resize(1280, 800)
    checkin = patient_check_in(practice)
    _, appointment_id = not_on_the_app(desk, practice)
    board = desk.window.checkins
    board.select_appointment(appointment_id)
    qtbot.mouseClick(board.desk_check_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: schedule_state(desk, appointment_id) == "Arrived (desk)", timeout=5_000)
    qtbot.waitUntil(lambda: checkin["id"] in arrival_statuses(desk), timeout=5_000)
    desk.window.grab().save(str(tmp_path / "board.png"))

    qtbot.mouseClick(board.waiting_room_button, Qt.MouseButton.LeftButton)
    room = board.waiting_room
    assert room is not None and room.isVisible()
    qtbot.waitUntil(lambda: len(room.shown_names()) == 2, timeout=5_000)
    for name in room.shown_names():
        _first, initial = name.rsplit(" ", 1)
        assert len(initial) == 2 and initial.endswith(".")
        assert "/" not in name  # no date of birth, nothing but the name
    room.grab().save(str(tmp_path / "waiting-room.png"))
    board.set_initials_only(True)
    assert all(len(n.replace(" ", "")) == 4 for n in room.shown_names())


def test_turned_away_tap_shows_and_is_checked_in_at_the_desk(
    qtbot, practice, make_desk, portal_database
):
    desk = make_desk(practice)
    ready(qtbot, desk)
    patient_id = practice.patients[0].patient_ids[0]
    with portal_database.write() as session:
        session.execute(
            update(PortalAppointment)
            .where(PortalAppointment.patient_id == patient_id)
            .values(starts_at=datetime.now(UTC) + timedelta(minutes=100))
        )
    with pytest.raises(Exception, match="422"):
        patient_check_in(practice)
    board = desk.window.checkins
    qtbot.waitUntil(lambda: "App: too early" in arrival_statuses(desk).values(), timeout=5_000)
    attempt = next(r for r in board.model.rows if r.kind == "attempt")
    board.select_id(attempt.id)
    assert board.arrival_check_in_button.isEnabled()
    assert not board.acknowledge_button.isEnabled()
    qtbot.mouseClick(board.arrival_check_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: [r.kind for r in board.model.rows if r.patient_id == patient_id] == ["checkin"],
        timeout=5_000,
    )
    qtbot.waitUntil(lambda: desk.engine.status.outbox_pending == 0, timeout=10_000)
    row = next(r for r in board.model.rows if r.patient_id == patient_id)
    assert (row.source, row.appointment_id) == ("desk", attempt.appointment_id)


def test_walk_in_by_patient_search(qtbot, practice, make_desk):
    desk = make_desk(practice)
    ready(qtbot, desk)
    board = desk.window.checkins
    patient_id, _ = not_on_the_app(desk, practice)
    row = next(r for r in board.schedule_model.rows if r.patient_id == patient_id)
    qtbot.mouseClick(board.walk_in_button, Qt.MouseButton.LeftButton)
    dialog = next(w for w in board.findChildren(WalkInDialog) if w.isVisible())
    # Typed as a user would, through the field; QTest's keyClicks asserts on letters such as
    # "ñ" or "ø" that the seeded names contain, so the text goes in with insert().
    dialog.search.field.insert(f"{row.last_name}, {row.first_name}")
    dialog.search.search_now()
    qtbot.waitUntil(lambda: dialog.search.model.rowCount() >= 1, timeout=5_000)
    hits = dialog.search.model.rows
    dialog.search.select_row(next(n for n, h in enumerate(hits) if h.portal_id == patient_id))
    assert dialog.check_in_button.isEnabled()
    qtbot.mouseClick(dialog.check_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: schedule_state(desk, row.appointment_id) == "Arrived (desk)", timeout=5_000
    )

    # A patient with no appointment today is a walk-in.
    cancel_walk_in = board.open_walk_in()
    qtbot.mouseClick(cancel_walk_in.cancel_button, Qt.MouseButton.LeftButton)
    assert not cancel_walk_in.isVisible()


def test_walk_in_without_appointment_shows_as_walk_in(qtbot, practice, make_desk):
    desk = make_desk(practice)
    ready(qtbot, desk)
    board = desk.window.checkins
    on_schedule = {r.patient_id for r in board.schedule_model.rows}
    with desk.store.read() as session:
        from sqlalchemy import select

        from visitdesk.desktop.models.schema import Patient

        patient_id = next(
            pid
            for pid in session.scalars(select(Patient.portal_id))
            if pid is not None and pid not in on_schedule
        )
    board.check_in(patient_id, None)
    qtbot.waitUntil(
        lambda: any(r.patient_id == patient_id for r in board.model.rows), timeout=5_000
    )
    number = next(n for n, r in enumerate(board.model.rows) if r.patient_id == patient_id)
    assert board.model.data(board.model.index(number, 1)) == "Walk-in"
    qtbot.waitUntil(lambda: desk.engine.status.outbox_pending == 0, timeout=10_000)
    assert desk.store.checkin(board.model.rows[number].id) is not None


def test_no_show_only_when_late_and_never_for_an_app_arrival(
    qtbot, practice, make_desk, portal_database
):
    front, back = make_desk(practice, name="front"), make_desk(practice, name="back")
    ready(qtbot, front)
    checkin = patient_check_in(practice)
    _, late_id = not_on_the_app(front, practice)
    # Late means started more than the grace ago, today (the board shows the practice's today):
    # 40 minutes ago, or just after the practice's midnight if that was yesterday.
    now = datetime.now(UTC)
    day_start, _ = front.ops.checkins.day_bounds(front.ops.session.today())
    grace = timedelta(minutes=CheckInSettings().no_show_grace_minutes)
    if now - day_start < grace + timedelta(minutes=2):
        pytest.skip("no appointment of the practice's day can be late this soon after midnight")
    past = max(now - timedelta(minutes=40), day_start + timedelta(seconds=30))
    with portal_database.write() as session:
        # A PM import would move them; here the practice system's times change on the portal.
        for appointment_id in (late_id, checkin["appointment_id"]):
            session.execute(
                update(PortalAppointment)
                .where(PortalAppointment.id == appointment_id)
                .values(starts_at=past)
            )
    for desk in (front, back):
        with desk.store.write() as uow:
            from visitdesk.desktop.models.schema import Appointment

            uow.session.execute(
                update(Appointment)
                .where(Appointment.portal_id.in_([late_id, checkin["appointment_id"]]))
                .values(starts_at=past)
            )
        desk.window.checkins.reload()
    board = front.window.checkins
    qtbot.waitUntil(lambda: schedule_state(front, late_id) == "Late: no-show?", timeout=5_000)
    qtbot.waitUntil(
        lambda: schedule_state(front, checkin["appointment_id"]) == "Arrived (app)",
        timeout=5_000,
    )
    board.select_appointment(checkin["appointment_id"])
    assert not board.no_show_button.isEnabled()
    key(qtbot, board.schedule_table, "N")  # nothing happens for an arrived patient
    board.select_appointment(late_id)
    assert board.no_show_button.isEnabled()
    qtbot.mouseClick(board.no_show_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: schedule_state(front, late_id) == "No-show", timeout=5_000)
    qtbot.waitUntil(lambda: front.engine.status.outbox_pending == 0, timeout=10_000)
    qtbot.waitUntil(lambda: schedule_state(back, late_id) == "No-show", timeout=10_000)
    assert schedule_state(back, checkin["appointment_id"]) == "Arrived (app)"
    assert front.store.outbox_pending_count() == 0
    assert not front.store.failed_outbox_items()


def test_filters_narrow_both_lists_in_sql(qtbot, practice, make_desk):
    desk = make_desk(practice)
    ready(qtbot, desk, appointments=5)
    board = desk.window.checkins
    qtbot.waitUntil(lambda: board.provider_filter.count() > 2, timeout=5_000)
    provider = board.provider_filter.itemText(1)
    board.provider_filter.setCurrentIndex(1)
    qtbot.waitUntil(
        lambda: {r.provider for r in board.schedule_model.rows} == {provider}, timeout=5_000
    )
    location = board.location_filter.itemText(1)
    board.location_filter.setCurrentIndex(1)
    qtbot.waitUntil(
        lambda: all(r.location == location for r in board.schedule_model.rows), timeout=5_000
    )
    board.provider_filter.setCurrentIndex(0)
    board.location_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: len({r.provider for r in board.schedule_model.rows}) > 1, timeout=5_000)


def test_manager_sets_the_rules_and_every_desk_gets_them(qtbot, practice, make_desk):
    manager = make_desk(practice, role="manager", name="office")
    front = make_desk(practice, name="front")
    ready(qtbot, manager)
    assert not front.window.checkins.settings_button.isVisible()
    board = manager.window.checkins
    qtbot.mouseClick(board.settings_button, Qt.MouseButton.LeftButton)
    dialog = next(w for w in board.findChildren(CheckInRulesDialog) if w.isVisible())
    dialog.warning.setValue(30)
    assert not dialog.save_button.isEnabled()  # red must be longer than amber
    dialog.alert.setValue(45)
    dialog.grace.setValue(25)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    wanted = CheckInSettings(
        no_show_grace_minutes=25, wait_warning_minutes=30, wait_alert_minutes=45
    )
    qtbot.waitUntil(lambda: manager.engine.status.outbox_pending == 0, timeout=10_000)
    qtbot.waitUntil(
        lambda: (
            front.window.checkins.board is not None
            and front.window.checkins.board.settings == wanted
        ),
        timeout=10_000,
    )
    assert front.window.checkins.model.settings == wanted
    again = board.open_rules()
    assert again.grace.value() == 25
    qtbot.mouseClick(again.cancel_button, Qt.MouseButton.LeftButton)


def test_models_pass_qtmodeltester_with_a_real_day(qtbot, qtmodeltester, practice, make_desk):
    desk = make_desk(practice)
    ready(qtbot, desk, appointments=5)
    patient_check_in(practice)
    board = desk.window.checkins
    qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=5_000)
    qtmodeltester.check(board.model)
    qtmodeltester.check(board.schedule_model)


def _patient_messages(practice, thread_id: str, after: int = 1) -> list[str]:
    from tests.fixtures_portal import http_session
    from tests.portal.helpers import patient_headers

    http = http_session(practice.ca_file)
    page = http.get(
        f"{practice.patient_url}/threads/{thread_id}/messages",
        params={"after": after, "wait": 10},
        headers=patient_headers(http, practice),
        timeout=20,
    ).json()
    return [m["body"] for m in page["messages"]]


def test_acknowledge_tells_the_patient_in_the_arrival_chat(qtbot, practice, make_desk):
    desk = make_desk(practice)
    checkin = patient_check_in(practice)
    board = desk.window.checkins
    qtbot.waitUntil(lambda: checkin["id"] in arrival_statuses(desk), timeout=5_000)
    qtbot.waitUntil(
        lambda: messages.arrival_thread(desk.store, checkin["id"]) is not None, timeout=10_000
    )
    board.select_id(checkin["id"])
    key(qtbot, board.table, "A")
    qtbot.waitUntil(lambda: arrival_statuses(desk)[checkin["id"]] == "Acknowledged", timeout=5_000)
    qtbot.waitUntil(lambda: desk.engine.status.outbox_pending == 0, timeout=10_000)
    first_name = board.model.rows[board.model.row_of(checkin["id"])].first_name
    bodies = _patient_messages(practice, checkin["thread_id"])
    assert bodies == [
        f"Hi {first_name}, we know you are here. Please take a seat; we will call you shortly."
    ]
    # C opens that chat on the Messages screen.
    with qtbot.waitSignal(board.chat_requested) as opened:
        key(qtbot, board.table, "C")
    assert opened.args == [checkin["thread_id"]]


def test_manager_chooses_the_acknowledgement_among_the_quick_texts(qtbot, practice, make_desk):
    from visitdesk.desktop.models import quick_texts
    from visitdesk.desktop.views.quick_texts import QuickTextEditor

    desk = make_desk(practice, role="manager")
    texts = []
    desk.ops.messages.quick_texts().success(texts.extend).run()
    qtbot.waitUntil(lambda: bool(texts), timeout=5_000)
    editor = QuickTextEditor(desk.ops, texts, desk.window)
    qtbot.addWidget(editor)
    editor.show()
    refill = next(n for n, t in enumerate(texts) if t.title == "Refill sent")
    editor.list.setCurrentRow(refill)
    assert not editor.acknowledge.isChecked()
    qtbot.mouseClick(editor.acknowledge, Qt.MouseButton.LeftButton)
    assert [t.on_acknowledge for t in editor.texts].count(True) == 1
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=5_000)
    with desk.store.read() as session:
        assert quick_texts.acknowledgement(session) == texts[refill].body

    checkin = patient_check_in(practice)
    board = desk.window.checkins
    qtbot.waitUntil(lambda: checkin["id"] in arrival_statuses(desk), timeout=5_000)
    board.select_id(checkin["id"])
    qtbot.waitUntil(board.acknowledge_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(board.acknowledge_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: desk.engine.status.outbox_pending == 0, timeout=10_000)
    first_name = board.model.rows[board.model.row_of(checkin["id"])].first_name
    assert _patient_messages(practice, checkin["thread_id"]) == [
        f"Hi {first_name}, your refill request has been sent to the provider for review."
    ]


def test_arrival_alerts_without_sound_or_tray_say_so_and_never_crash(qtbot, practice, make_desk):
    desk = make_desk(practice)
    window = desk.window
    alerts = window.arrival_alerts
    ready(qtbot, desk)
    # Offscreen (as in CI): no sound output, no tray. The settings say so once, and stay off.
    assert not alerts.can_sound and not window.notices.available
    assert "no sound output" in window.arrival_sound_action.text()
    assert not window.arrival_sound_action.isEnabled()
    assert "no system tray" in window.arrival_notice_action.text()
    with qtbot.waitSignal(alerts.alerted, timeout=10_000) as alerted:
        patient_check_in(practice)
    assert alerted.args == ["A patient has arrived"]  # no name, nothing about the patient
    assert alerts.sounds_played == 0

    changed = []
    window.desk_setting_changed.connect(lambda name, on: changed.append((name, on)))
    window.arrival_sound_action.setChecked(False)
    window.arrival_notice_action.setChecked(False)
    assert changed == [("arrival_sound", False), ("arrival_notices", False)]
    with qtbot.assertNotEmitted(alerts.alerted, wait=1500):
        patient_check_in(practice, account=1)
        qtbot.waitUntil(lambda: window.checkins.model.waiting_count() == 2, timeout=5_000)

    window.initials_action.trigger()
    assert window.checkins.initials_only and changed[-1] == ("waiting_room_initials", True)
    display = next(a for a in window.findChildren(QAction) if "waiting-room display" in a.text())
    display.trigger()
    room = window.checkins.waiting_room
    assert room is not None and room.isVisible() and room.initials_only
    qtbot.waitUntil(lambda: len(room.shown_names()) == 2, timeout=5_000)
