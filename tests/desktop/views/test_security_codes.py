"""The Security Codes screen against the real portal over TLS (pytest-qt, offscreen)."""

from __future__ import annotations

import io
import logging
import os
import re
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from tests.desktop.print_to_pdf import first_page_has_ink, print_to_pdf, printed_pages
from tests.desktop.typing import type_text
from tests.fixtures_portal import http_session
from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.views.security_codes import OFFLINE_MESSAGE, SecurityCodesView
from visitdesk.desktop.views.security_codes_table import STATUS_COLUMN

CODE_SHAPE = re.compile(r"^[A-Z2-9]{4}(-[A-Z2-9]{4})+$")
#: Set to a directory to keep screenshots of the screen for a look (README, reviews).
SCREENSHOTS = os.environ.get("VISITDESK_SCREENSHOTS")


@pytest.fixture
def styled(qapp):
    """The application's stylesheet while screenshots are taken (then the default again)."""
    if SCREENSHOTS:
        qapp.setStyleSheet(load_stylesheet())
    yield
    if SCREENSHOTS:
        qapp.setStyleSheet("")


def _synced_patient(desk, qtbot, practice):
    qtbot.waitUntil(lambda: desk.store.patient_count() >= 50, timeout=15_000)
    from sqlalchemy import select

    from visitdesk.desktop.models.schema import Patient

    with desk.store.read() as session:
        # A patient without a portal account yet (the accounts' patients are linked already).
        linked = {pid for cred in practice.patients for pid in cred.patient_ids}
        patients = list(session.scalars(select(Patient).order_by(Patient.mrn)))
    unlinked = [p for p in patients if p.portal_id not in linked]
    # Prefer a name with accents ("Dvořák, Zoë"): the search is typed key by key.
    return next((p for p in unlinked if not f"{p.last_name}{p.first_name}".isascii()), unlinked[0])


def _screen(desk) -> SecurityCodesView:
    view = desk.window.security_codes
    assert view is not None
    titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
    desk.window.sidebar.setCurrentRow(titles.index("Security codes"))
    return view


def _find(view, qtbot, text: str, portal_id: str) -> None:
    view.search.field.setFocus()
    type_text(qtbot, view.search.field, text)
    qtbot.waitUntil(
        lambda: any(
            h.portal_id == portal_id
            for h in (view.search.model.hit_at(r) for r in range(view.search.model.rowCount()))
        ),
        timeout=5_000,
    )
    row = next(
        r
        for r in range(view.search.model.rowCount())
        if view.search.model.hit_at(r).portal_id == portal_id
    )
    view.search.select_row(row)
    qtbot.waitUntil(lambda: view.issue_button.isEnabled(), timeout=2_000)


def _statuses(view) -> dict[str, str]:
    model = view.model
    return {
        model.data(model.index(r, 0), Qt.ItemDataRole.UserRole): model.data(
            model.index(r, STATUS_COLUMN)
        )
        for r in range(model.rowCount())
    }


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _register(practice, code: str, first: str, last: str) -> dict:
    http = http_session(practice.ca_file)
    response = http.post(
        f"{practice.patient_url}/accounts/username",
        json={
            "practice_code": practice.practice_code,
            "username": f"u{uuid.uuid4().hex[:10]}",
            "password": "Correct-Horse-Battery-9",
            "first_name": first,
            "last_name": last,
            "security_code": code.lower().replace("-", " "),
            "email_choice": "proceed_without",
        },
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_issue_print_slip_and_see_it_used(
    qtbot, practice, make_desk, tmp_path, caplog, qtmodeltester, styled
):
    caplog.set_level(logging.DEBUG)
    desk = make_desk(practice)
    view = _screen(desk)
    patient = _synced_patient(desk, qtbot, practice)
    qtbot.waitUntil(lambda: desk.engine.status.online is True, timeout=10_000)

    _find(view, qtbot, f"{patient.last_name}, {patient.first_name[:2]}", patient.portal_id)
    qtmodeltester.check(view.search.model)
    qtbot.mouseClick(view.issue_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: view.issue_stack.currentWidget() is view.code_panel, timeout=10_000)
    code = view.shown_code
    assert CODE_SHAPE.match(code), code
    assert patient.first_name in view.code_panel.heading.text()
    assert view.code_panel.code_label.textInteractionFlags() == (
        Qt.TextInteractionFlag.NoTextInteraction
    )

    # The slip: made in memory, saved where asked; its text has the code and the patient's name.
    qtbot.waitUntil(lambda: view.slip_pdf is not None, timeout=10_000)
    text = _pdf_text(view.slip_pdf)
    assert code in text
    assert f"{patient.first_name} {patient.last_name}" in text
    assert practice.practice_name in text

    # Print slip: the print dialog opens without blocking; printing to a PDF file gives the page.
    qtbot.mouseClick(view.code_panel.print_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: view.print_job is not None and view.print_job.dialog is not None, timeout=10_000
    )
    printed = tmp_path / "printed-slip.pdf"
    print_to_pdf(qtbot, view.print_job.dialog, printed)
    qtbot.waitUntil(lambda: view.print_job is None, timeout=10_000)
    assert view.code_panel.status.text() == "Code slip sent to the printer."
    assert printed_pages(printed) == 1 and first_page_has_ink(printed)

    target = tmp_path / "slip.pdf"
    view.save_slip_to(target)
    qtbot.waitUntil(target.exists, timeout=5_000)
    assert code in _pdf_text(target.read_bytes())
    if SCREENSHOTS:
        desk.window.grab().save(str(Path(SCREENSHOTS) / "security-codes-issued.png"))

    # The list shows it as active, under its hint only.
    qtbot.waitUntil(lambda: len(_statuses(view)) == 1, timeout=5_000)
    (code_id,) = _statuses(view)
    assert _statuses(view)[code_id] == "Active"
    qtmodeltester.check(view.model)
    hint = view.model.data(view.model.index(0, 1))
    assert hint.endswith(code[-4:]) and code not in hint

    # Done forgets the code: it is nowhere on screen, in the local database or in the log.
    qtbot.waitUntil(lambda: "saved" in view.code_panel.status.text(), timeout=5_000)
    qtbot.mouseClick(view.code_panel.done_button, Qt.MouseButton.LeftButton)
    assert view.issue_stack.currentIndex() == 0
    assert view.slip_pdf is None
    assert all(code not in label.text() for label in desk.window.findChildren(QLabel))
    database = b"".join(p.read_bytes() for p in desk.store.path.parent.glob("*.sqlite3*"))
    assert code.encode() not in database and code.replace("-", "").encode() not in database
    assert code not in caplog.text and code.replace("-", "") not in caplog.text

    # The patient registers with it; the feed brings "used" to the list.
    _register(practice, code, patient.first_name, patient.last_name)
    qtbot.waitUntil(lambda: _statuses(view).get(code_id) == "Used", timeout=10_000)
    if SCREENSHOTS:
        view.status_filter.setFocus()
        desk.window.grab().save(str(Path(SCREENSHOTS) / "security-codes-used.png"))


def test_revoke_and_reissue(qtbot, practice, make_desk):
    desk = make_desk(practice, role="manager")
    view = _screen(desk)
    patient = _synced_patient(desk, qtbot, practice)
    _find(view, qtbot, patient.mrn, patient.portal_id)
    view.link_radio.setChecked(True)
    view.relationship.setCurrentIndex(view.relationship.findData("spouse"))
    view.expiry.setValue(3)
    qtbot.mouseClick(view.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.issue_stack.currentWidget() is view.code_panel, timeout=10_000)
    first_code = view.shown_code
    assert "Link (spouse)" in view.code_panel.details.text()
    qtbot.waitUntil(lambda: view.slip_pdf is not None, timeout=10_000)
    assert "Link family member" in _pdf_text(view.slip_pdf)

    # Done without printing or saving asks first.
    qtbot.mouseClick(view.code_panel.done_button, Qt.MouseButton.LeftButton)
    assert isinstance(view.confirm_box, QMessageBox)
    view.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    assert view.issue_stack.currentIndex() == 0

    qtbot.waitUntil(lambda: list(_statuses(view).values()) == ["Active"], timeout=5_000)
    (old_id,) = _statuses(view)
    view.select_code(old_id)
    assert view.reissue_button.isEnabled()
    view.confirm_reissue()
    view.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: view.issue_stack.currentWidget() is view.code_panel, timeout=10_000)
    second_code = view.shown_code
    assert CODE_SHAPE.match(second_code) and second_code != first_code
    qtbot.waitUntil(
        lambda: sorted(_statuses(view).values()) == ["Active", "Revoked"], timeout=10_000
    )
    assert _statuses(view)[old_id] == "Revoked"
    view.dismiss_code()

    new_id = next(cid for cid, status in _statuses(view).items() if status == "Active")
    view.select_code(new_id)
    assert view.revoke_button.isEnabled()
    view.confirm_revoke()
    view.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: _statuses(view).get(new_id) == "Revoked", timeout=10_000)

    # Filtering by status happens in SQL.
    view.status_filter.setCurrentIndex(view.status_filter.findData("active"))
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=5_000)
    view.status_filter.setCurrentIndex(view.status_filter.findData("revoked"))
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5_000)


def test_offline_issue_says_so_and_shows_nothing(qtbot, practice, make_desk):
    desk = make_desk(practice)
    view = _screen(desk)
    patient = _synced_patient(desk, qtbot, practice)
    _find(view, qtbot, patient.mrn, patient.portal_id)

    # The network goes away: nothing listens where the portal was.
    desk.opened.client.base_url = "https://127.0.0.1:9"
    qtbot.mouseClick(view.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.issue_error.text() == OFFLINE_MESSAGE, timeout=5_000)
    assert view.issue_stack.currentIndex() == 0
    assert view.shown_code == ""
    assert view.issue_button.isEnabled()


@pytest.mark.parametrize("role", ["billing"])
def test_billing_does_not_see_the_screen(qtbot, practice, make_desk, role):
    desk = make_desk(practice, role=role)
    # Let the first sync settle: a change notice queued while the desk is torn down would reach
    # the check-in board after its task runner has stopped (see the report).
    qtbot.waitUntil(lambda: desk.store.patient_count() >= 50, timeout=15_000)
    qtbot.waitUntil(lambda: desk.engine.status.online is True, timeout=10_000)
    titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
    assert "Security codes" not in titles
    assert desk.window.security_codes is None


def test_search_results_model_passes_the_tester_with_unsynced_patients(qtmodeltester):
    from datetime import date

    from visitdesk.desktop.models.patient_search import PatientHit
    from visitdesk.desktop.views.patient_search_table import PatientResultsModel

    model = PatientResultsModel()
    # An imported patient the portal has not reported yet is drawn greyed out.
    unsynced = PatientHit(
        id=1,
        portal_id=None,
        mrn="M1",
        first_name="Ann",
        middle_name="",
        last_name="Lee",
        date_of_birth=date(1990, 1, 2),
        phone="(413) 555-0100",
        email="",
    )
    model.set_rows([unsynced])
    qtmodeltester.check(model)


def _manager_get(practice, path: str, **params: str):
    http = http_session(practice.ca_file)
    try:
        cred = practice.staff["manager"]
        token = http.post(
            f"{practice.staff_url}/sessions",
            json={
                "practice": practice.practice_code,
                "username": cred.username,
                "password": cred.password,
            },
            timeout=10,
        ).json()["access_token"]
        answer = http.get(
            f"{practice.staff_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    finally:
        http.close()
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_revoking_a_used_code_flags_its_link_for_review(qtbot, practice, make_desk, styled):
    """The code reached the wrong person: the front desk revokes it after it was used. The link
    it made stays, the list says "Used, revoked" under both filters, the audit trail records it,
    and the managers' Needs review list picks the link up."""
    desk = make_desk(practice)
    view = _screen(desk)
    patient = _synced_patient(desk, qtbot, practice)
    _find(view, qtbot, patient.mrn, patient.portal_id)
    qtbot.mouseClick(view.issue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.issue_stack.currentWidget() is view.code_panel, timeout=10_000)
    code = view.shown_code
    view.dismiss_code()
    qtbot.waitUntil(lambda: len(_statuses(view)) == 1, timeout=5_000)
    (code_id,) = _statuses(view)
    _register(practice, code, patient.first_name, patient.last_name)
    qtbot.waitUntil(lambda: _statuses(view).get(code_id) == "Used", timeout=10_000)
    assert not view.reissue_button.isEnabled()

    view.select_code(code_id)
    assert view.revoke_button.isEnabled()
    qtbot.mouseClick(view.revoke_button, Qt.MouseButton.LeftButton)
    box = view.confirm_box
    assert box is not None and "already used" in box.text()
    assert "Linked accounts" in box.text() and "review" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert _statuses(view)[code_id] == "Used"

    qtbot.mouseClick(view.revoke_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(
        view.confirm_box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: _statuses(view).get(code_id) == "Used, revoked", timeout=10_000)
    view.select_code(code_id)
    assert not view.revoke_button.isEnabled()
    tip = view.model.data(view.model.index(0, STATUS_COLUMN), Qt.ItemDataRole.ToolTipRole)
    assert "Needs review" in tip
    if SCREENSHOTS:
        desk.window.resize(1280, 800)
        desk.window.grab().save(str(Path(SCREENSHOTS) / "security-codes-revoked-after-use.png"))
    for status in ("used", "revoked"):
        view.status_filter.setCurrentIndex(view.status_filter.findData(status))
        qtbot.waitUntil(lambda: list(_statuses(view)) == [code_id], timeout=5_000)
    view.status_filter.setCurrentIndex(view.status_filter.findData("active"))
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=5_000)

    # The portal agrees: still used, listed as revoked, audited, and the link needs review.
    (listed,) = _manager_get(practice, "/security-codes", status="revoked")
    assert listed["id"] == code_id and listed["status"] == "used" and listed["revoked_at"]
    events = _manager_get(practice, "/audit", action="security_code.revoked_after_use")["events"]
    assert [e["subject_id"] for e in events] == [code_id]
    assert events[0]["actor_name"] == desk.ops.session.staff.name

    manager = make_desk(practice, "manager", name="ws-manager")
    links = manager.window.linked_accounts
    assert links is not None
    qtbot.waitUntil(
        lambda: any(
            r.rule == "code_revoked" and r.patient_id == patient.portal_id
            for r in links.review_model.rows
        ),
        timeout=15_000,
    )
    item = next(r for r in links.review_model.rows if r.rule == "code_revoked")
    assert code[-4:] in item.detail
