"""The Audit screen against the real portal over TLS (pytest-qt, offscreen): filters, Verify
naming an altered row, exports, and the signed head this desk remembers catching a chain that
was rewritten and re-signed by someone who had the database and the portal's key."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt
from sqlalchemy import delete, select, update

from visitdesk.desktop.app import load_stylesheet
from visitdesk.desktop.views.audit import AuditView, counted, verified_words
from visitdesk.portal.audit_trail import trail
from visitdesk.portal.audit_trail.signing import AuditSigner
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.models_registration import AuditCheckpoint, AuditEvent, AuditHead

#: How a clean Verify starts, for one event or many.
CLEAN = ("All ", "The one event verifies")

SCREENSHOTS = os.environ.get("VISITDESK_SCREENSHOTS")


def _screen(desk) -> AuditView:
    view = desk.window.audit
    assert view is not None
    titles = [desk.window.sidebar.item(i).text() for i in range(desk.window.sidebar.count())]
    desk.window.sidebar.setCurrentRow(titles.index("Audit trail"))
    return view


def test_only_managers_have_the_audit_screen(make_desk, practice) -> None:
    desk = make_desk(practice, "front_desk")
    assert desk.window.audit is None


@pytest.fixture
def styled(qapp):
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


def test_filters_verify_and_exports(
    make_desk, practice, qtbot, qtmodeltester, tmp_path, styled
) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    view.choose_path = lambda _p, _t, name, _f: tmp_path / name
    qtbot.waitUntil(lambda: len(view.model.rows) >= 1, timeout=15_000)
    qtmodeltester.check(view.model)
    manager = practice.staff["manager"].name
    first = view.model.rows[0]
    assert (first.action, first.actor_name) == ("staff.signed_in", manager)
    assert view.model.data(view.model.index(0, 3)) == "Signed in"
    assert first.workstation  # the desk names itself

    view.action.setCurrentIndex(
        next(i for i in range(view.action.count()) if view.action.itemData(i) == "staff.")
    )
    qtbot.waitUntil(
        lambda: view.model.rows and all(r.action.startswith("staff.") for r in view.model.rows),
        timeout=10_000,
    )
    view.patient.setText("no such patient zzz")
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.empty, timeout=10_000)
    assert view.empty.text() == "No event matches these filters."
    view.patient.clear()
    view.since.setDate(QDate(2001, 1, 1))
    view.until.setDate(QDate(2001, 1, 2))
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.empty, timeout=10_000)
    view.since.setDate(QDate(2000, 1, 1))
    view.until.setDate(QDate(2000, 1, 1))
    qtbot.waitUntil(lambda: view.stack.currentWidget() is view.table, timeout=10_000)

    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.verify_result.text().startswith(CLEAN), timeout=15_000)
    assert view.warning.isHidden()
    assert "verif" in view.verify_result.text() and "signed head" in view.verify_result.text()

    qtbot.mouseClick(view.csv_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (tmp_path / "audit-trail.csv").exists(), timeout=10_000)
    qtbot.mouseClick(view.pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (tmp_path / "audit-trail.pdf").exists(), timeout=10_000)
    rows = list(csv.reader(io.StringIO((tmp_path / "audit-trail.csv").read_text("utf-8-sig"))))
    assert rows[0][:3] == ["When", "Who", "Workstation"]
    assert any(row[1] == manager for row in rows[1:])
    assert "Audit trail" in PdfReader(str(tmp_path / "audit-trail.pdf")).pages[0].extract_text()
    view.action.setCurrentIndex(0)
    qtbot.waitUntil(lambda: view.model.rows[0].action == "staff.signed_in", timeout=10_000)
    if SCREENSHOTS:
        desk.window.resize(1280, 800)
        qtbot.waitUntil(lambda: not view.table.horizontalScrollBar().isVisible(), timeout=5_000)
        desk.window.grab().save(str(Path(SCREENSHOTS) / "audit.png"))


def test_verify_names_the_altered_row(make_desk, practice, portal_database, qtbot) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    qtbot.waitUntil(lambda: len(view.model.rows) >= 1, timeout=15_000)
    target = view.model.rows[-1].seq
    with portal_database.write() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.practice_id == practice.practice_id, AuditEvent.seq == target)
            .values(action="staff.nothing_to_see")
        )
    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.verify_result.text().startswith("Broken"), timeout=15_000)
    assert f"event #{target}:" in view.verify_result.text()


def test_a_rewritten_and_re_signed_chain_is_caught_by_the_remembered_head(
    make_desk, practice, portal_server, portal_database, qtbot
) -> None:
    desk = make_desk(practice, "manager")
    view = _screen(desk)
    qtbot.waitUntil(lambda: len(view.model.rows) >= 1, timeout=15_000)
    # The desk checked (and remembered) the signed head when the screen opened; Verify is clean.
    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.verify_result.text().startswith(CLEAN), timeout=15_000)

    # The attacker has the database and the key file: rewrite an event, recompute every hash,
    # drop the old checkpoints and sign the new head. The portal's own Verify is satisfied.
    practice_id = practice.practice_id
    signer = AuditSigner.load(portal_server.config.data_dir)
    with portal_database.write() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.practice_id == practice_id)
                .order_by(AuditEvent.seq)
            )
        )
        events[0].actor_name = "Nobody"
        prev = audit.GENESIS_HASH
        for event in events:
            event.prev_hash = prev
            event.row_hash = audit.chain_hash(prev, event)
            prev = event.row_hash
        head = session.get(AuditHead, practice_id)
        assert head is not None
        head.last_hash = prev
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.practice_id == practice_id))
        session.flush()
        assert trail.signed_head(session, practice_id, signer) is not None
    with portal_database.read() as session:
        assert trail.verify_all(session, practice_id, signer).ok

    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.warning.isVisible(), timeout=15_000)
    assert "no longer extends the signed head this workstation saw" in view.warning_text.text()
    assert "rewritten" in view.verify_result.text()


def test_verify_words_read_right_for_none_one_and_many() -> None:
    assert verified_words(0, 0) == "There are no events to check yet."
    assert verified_words(1, 0) == "The one event verifies, and no signed head yet."
    assert verified_words(1, 1) == "The one event verifies, and 1 signed head."
    assert verified_words(1204, 3) == "All 1,204 events verify, and 3 signed heads."
    assert counted(1, "event") == "1 event" and counted(2, "event") == "2 events"
