"""The Linked accounts screen against the real portal over TLS (pytest-qt, offscreen): pages as
the table scrolls, search, revoke (the account loses access at once), lock and unlock, the review
tab and its rules, CSV and PDF exports, and only managers see it."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractScrollArea

from tests.fixtures_portal import http_session
from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.views.linked_accounts import LinkedAccountsView

SCREENSHOTS = os.environ.get("VISITDESK_SCREENSHOTS")


@pytest.fixture
def styled(qapp):
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


def _screen(desk) -> LinkedAccountsView:
    view = desk.window.linked_accounts
    assert view is not None
    titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
    desk.window.sidebar.setCurrentRow(titles.index("Linked accounts"))
    return view


def _patient_get(practice, path: str, token: str):
    http = http_session(practice.ca_file)
    try:
        return http.get(
            f"{practice.patient_url}{path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    finally:
        http.close()


def _patient_token(practice, index: int = 0) -> str:
    cred = practice.patients[index]
    http = http_session(practice.ca_file)
    try:
        answer = http.post(
            f"{practice.patient_url}/sessions",
            json={"login": cred.login, "password": cred.password},
            timeout=10,
        )
    finally:
        http.close()
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _no_horizontal_scroll(table: QAbstractScrollArea) -> bool:
    return not table.horizontalScrollBar().isVisible()


def test_only_managers_have_the_screen(make_desk, practice) -> None:
    for role in ("front_desk", "billing"):
        desk = make_desk(practice, role, name=role)
        assert desk.window.linked_accounts is None
        titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
        assert "Linked accounts" not in titles


def test_list_pages_search_and_revoke(make_desk, practice, qtbot, qtmodeltester) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    qtbot.waitUntil(lambda: len(view.model.rows) >= 2, timeout=15_000)
    total = len(view.model.rows)
    qtmodeltester.check(view.model)

    # One link per page: the table asks for the next page as it needs rows.
    view.page_size = 1
    view.reload()
    qtbot.waitUntil(lambda: len(view.model.rows) == total, timeout=15_000)
    assert view.model.next_page is None
    qtmodeltester.check(view.model)
    view.page_size = 200

    # Search by the patient of the first account.
    cred = practice.patients[0]
    child_or_self = cred.patient_ids[-1]
    row = next(r for r in view.model.rows if r.patient_id == child_or_self)
    view.search.setText(row.mrn)
    qtbot.waitUntil(
        lambda: [r.patient_id for r in view.model.rows] == [child_or_self], timeout=10_000
    )
    view.search.setText("no-such-person-zzz")
    qtbot.waitUntil(lambda: view.links_stack.currentWidget() is view.empty, timeout=10_000)
    assert "No link matches" in view.empty.text()
    assert view.empty.textFormat() == Qt.TextFormat.PlainText
    view.search.setText(row.mrn)
    qtbot.waitUntil(lambda: len(view.model.rows) == 1, timeout=10_000)

    token = _patient_token(practice)
    assert _patient_get(practice, f"/patients/{child_or_self}", token).status_code == 200
    view.select_row(0)
    assert view.revoke_button.isEnabled()
    qtbot.mouseClick(view.revoke_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None and not dialog.ok_button.isEnabled()  # type: ignore[attr-defined]
    dialog.reason.setText("Custody order on file")  # type: ignore[attr-defined]
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: view.model.rows[0].revoked_at is not None, timeout=10_000)
    assert not view.revoke_button.isEnabled()
    assert "Revoked" in view.model.data(view.model.index(0, 9))
    assert _patient_get(practice, f"/patients/{child_or_self}", token).status_code == 404

    # The state filter: the revoked link is among the revoked ones.
    view.search.clear()
    view.state.setCurrentIndex(2)
    qtbot.waitUntil(
        lambda: [r.patient_id for r in view.model.rows] == [child_or_self], timeout=10_000
    )


def test_lock_and_unlock_an_account(make_desk, practice, qtbot) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    qtbot.waitUntil(lambda: len(view.model.rows) >= 2, timeout=15_000)
    token = _patient_token(practice, 1)
    account = practice.patients[1]
    number = next(
        i for i, r in enumerate(view.model.rows) if r.patient_id == account.patient_ids[0]
    )
    view.select_row(number)
    assert view.lock_button.text().startswith("Lock")
    qtbot.mouseClick(view.lock_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None
    dialog.reason.setText("Password shared with a neighbour")  # type: ignore[attr-defined]
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: view.model.rows[number].account_locked, timeout=10_000)
    assert _patient_get(practice, "/patients", token).status_code == 401
    assert view.lock_button.text().startswith("Unlock")
    qtbot.mouseClick(view.lock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.model.rows[number].account_locked, timeout=10_000)
    assert _patient_get(practice, "/patients", _patient_token(practice, 1)).status_code == 200


def test_review_rules_and_exports(
    make_desk, practice, qtbot, qtmodeltester, tmp_path: Path
) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    saved: list[Path] = []

    def choose(_parent, _title, name: str, _filter) -> Path:
        saved.append(tmp_path / name)
        return tmp_path / name

    view.choose_path = choose
    qtbot.waitUntil(lambda: view.review_stack.currentWidget() is view.review_empty, timeout=15_000)
    assert "Nothing needs review" in view.review_empty.text()
    view.tabs.setCurrentIndex(1)

    # A family account (two patients) is listed once the threshold is two.
    qtbot.mouseClick(view.rules_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None
    dialog.many.setValue(2)  # type: ignore[attr-defined]
    qtbot.mouseClick(
        dialog.buttons.buttons()[0],  # type: ignore[attr-defined]
        Qt.MouseButton.LeftButton,
    )
    qtbot.waitUntil(lambda: len(view.review_model.rows) >= 1, timeout=10_000)
    qtmodeltester.check(view.review_model)
    assert view.review_model.rows[0].rule == "many_patients"
    assert view.tabs.tabText(1).startswith("Needs review (")
    qtbot.mouseClick(view.refresh_review_button, Qt.MouseButton.LeftButton)

    qtbot.mouseClick(view.review_csv_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (tmp_path / "linked-accounts-review.csv").exists(), timeout=10_000)
    qtbot.mouseClick(view.review_pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (tmp_path / "linked-accounts-review.pdf").exists(), timeout=10_000)
    review_rows = list(
        csv.reader(io.StringIO((tmp_path / "linked-accounts-review.csv").read_text("utf-8-sig")))
    )
    assert review_rows[0] == ["Rule", "Account", "Login", "Patient", "Why"]
    assert review_rows[1][0] == "Many patients"

    view.review_table.selectRow(0)
    qtbot.mouseClick(view.find_button, Qt.MouseButton.LeftButton)
    login = view.review_model.rows[0].account_login
    qtbot.waitUntil(
        lambda: (
            view.tabs.currentIndex() == 0
            and len(view.model.rows) >= 2
            and all(r.account_login == login for r in view.model.rows)
        ),
        timeout=10_000,
    )

    view.search.clear()
    qtbot.waitUntil(lambda: len(view.model.rows) >= 3, timeout=10_000)
    qtbot.mouseClick(view.export_csv_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (tmp_path / "linked-accounts.csv").exists(), timeout=10_000)
    qtbot.mouseClick(view.export_pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (tmp_path / "linked-accounts.pdf").exists(), timeout=10_000)
    rows = list(csv.reader(io.StringIO((tmp_path / "linked-accounts.csv").read_text("utf-8-sig"))))
    assert rows[0][:4] == ["Account", "Login", "Last sign-in", "Patient"]
    assert len(rows) - 1 == len(view.model.rows)
    pdf = PdfReader(str(tmp_path / "linked-accounts.pdf"))
    text = pdf.pages[0].extract_text()
    assert "Linked portal accounts" in text and practice.practice_name in text


def test_screenshot_fits_1280_by_800(make_desk, practice, qtbot, styled) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    desk.window.resize(1280, 800)
    qtbot.waitUntil(lambda: len(view.model.rows) >= 2, timeout=15_000)
    view.select_row(0)
    qtbot.waitUntil(lambda: _no_horizontal_scroll(view.table), timeout=5_000)
    qtbot.waitUntil(lambda: view.summary.width() >= view.summary.sizeHint().width(), timeout=5_000)
    assert view.summary.text() == f"{len(view.model.rows)} links"
    # The status bar's words are readable, not squeezed to slivers by this wide screen.
    window = desk.window
    qtbot.waitUntil(lambda: window.outbox_label.text() == "All changes sent", timeout=10_000)
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Last synced"), timeout=10_000)
    for label in (window.outbox_label, window.sync_label, window.online_label):
        qtbot.waitUntil(lambda lb=label: lb.shown_text() == lb.text(), timeout=5_000)
        assert label.width() >= label.minimumSizeHint().width() > 40
    if SCREENSHOTS:
        desk.window.grab().save(str(Path(SCREENSHOTS) / "linked-accounts.png"))
        view.tabs.setCurrentIndex(1)
        desk.window.grab().save(str(Path(SCREENSHOTS) / "linked-accounts-review.png"))
