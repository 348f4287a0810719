"""The live check-in board against the real portal over TLS (pytest-qt, offscreen)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from tests.fixtures_portal import http_session
from tests.patient_api import patient_check_in
from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.views.checkins_table import STATUS_COLUMN


def board_statuses(desk) -> dict[str, str]:
    model = desk.window.checkins.model
    return {
        model.data(model.index(r, 0), Qt.ItemDataRole.UserRole): model.data(
            model.index(r, STATUS_COLUMN)
        )
        for r in range(model.rowCount())
    }


def test_a_patient_tap_appears_on_the_board(qtbot, practice, make_desk):
    desk = make_desk(practice)
    board = desk.window.checkins
    qtbot.waitUntil(lambda: desk.engine.status.online is True, timeout=10_000)
    assert board.model.rowCount() == 0
    assert not board._empty.isHidden()

    checkin = patient_check_in(practice)

    qtbot.waitUntil(lambda: board.model.rowCount() == 1, timeout=5_000)
    model = board.model
    assert model.data(model.index(0, 0), Qt.ItemDataRole.UserRole) == checkin["id"]
    assert model.data(model.index(0, STATUS_COLUMN)) == "Arrived"
    assert "," in model.data(model.index(0, 0))  # "Last, First" from the synced patient record
    assert model.rows[0].provider  # provider of today's appointment
    assert "1 waiting" in board._summary.text()
    assert desk.window.sidebar.item(0).text() == "Check-ins  (1 waiting)"


def test_acknowledge_round_trips_to_the_portal_and_other_workstations(qtbot, practice, make_desk):
    first = make_desk(practice, name="front")
    second = make_desk(practice, name="back")
    checkin = patient_check_in(practice)
    for desk in (first, second):
        qtbot.waitUntil(lambda d=desk: checkin["id"] in board_statuses(d), timeout=5_000)

    board = first.window.checkins
    board.select_id(checkin["id"])
    assert board.acknowledge_button.isEnabled()
    qtbot.mouseClick(board.acknowledge_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: board_statuses(first)[checkin["id"]] == "Acknowledged", timeout=5_000)
    qtbot.waitUntil(lambda: first.engine.status.outbox_pending == 0, timeout=10_000)
    qtbot.waitUntil(lambda: board_statuses(second)[checkin["id"]] == "Acknowledged", timeout=10_000)
    row = second.store.checkin(checkin["id"])
    assert row.status == CheckInStatus.ACKNOWLEDGED
    assert row.status_changed_by == practice.staff["front_desk"].name
    assert not board.acknowledge_button.isEnabled()
    assert board.roomed_button.isEnabled()


def test_hostile_patient_name_is_shown_as_plain_text(qtbot, practice, make_desk):
    hostile_first, hostile_last = "<b>x</b>", "<img src=x onerror=alert(1)>"
    manager = practice.staff["manager"]
    http = http_session(practice.ca_file)
    tokens = http.post(
        f"{practice.staff_url}/sessions",
        json={
            "practice": practice.practice_code,
            "username": manager.username,
            "password": manager.password,
        },
        timeout=10,
    ).json()
    http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    patient_id = practice.patients[0].patient_ids[0]
    desk = make_desk(practice)
    qtbot.waitUntil(lambda: desk.store.patient_count() >= 50, timeout=10_000)
    mrn = next(p.mrn for p in _local_patients(desk) if p.portal_id == patient_id)
    record = _local_patient_record(desk, mrn)
    record.update(first_name=hostile_first, last_name=hostile_last)
    response = http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [record]},
        headers={"Idempotency-Key": "hostile-name-1"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    patient_check_in(practice, patient_id=patient_id)

    board = desk.window.checkins
    qtbot.waitUntil(
        lambda: (
            board.model.rowCount() == 1
            and board.model.data(board.model.index(0, 0)) == f"{hostile_last}, {hostile_first}"
        ),
        timeout=10_000,
    )
    # The table's delegate draws display text literally; every label on the window is plain text.
    for label in desk.window.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()


def _local_patients(desk):
    from sqlalchemy import select

    from visitdesk.desktop.models.schema import Patient

    with desk.store.read() as session:
        return list(session.scalars(select(Patient)))


def _local_patient_record(desk, mrn: str) -> dict:
    from visitdesk.api.wire import PatientRecord

    patient = next(p for p in _local_patients(desk) if p.mrn == mrn)
    fields = PatientRecord.model_fields
    return PatientRecord.model_validate(
        {name: getattr(patient, name) for name in fields}
    ).model_dump(mode="json")
