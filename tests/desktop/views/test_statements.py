"""The Statements screen and portal payments, against the real portal over TLS (offscreen)."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from tests.billing_api import patient_http, pay
from tests.desktop.print_to_pdf import first_page_has_ink, print_to_pdf, printed_pages
from visitdesk.desktop.models import billing
from visitdesk.desktop.models.schema import Patient
from visitdesk.desktop.ops import statement_run


def ledger_count(desk) -> int:
    with desk.store.read() as session:
        return session.scalar(select(func.count()).select_from(billing.LedgerLine)) or 0


def test_a_portal_payment_reaches_the_desk_ledger(qtbot, practice, make_desk):
    desk = make_desk(practice, role="billing")
    qtbot.waitUntil(lambda: ledger_count(desk) > 0, timeout=15_000)
    patient_id = practice.patients[0].patient_ids[0]
    with desk.store.read() as session:
        mrn = session.scalar(
            select(billing.LedgerLine.patient_mrn)
            .join(Patient, Patient.mrn == billing.LedgerLine.patient_mrn)
            .where(Patient.portal_id == patient_id)
            .limit(1)
        )
        guarantor = billing.guarantor_of(session, mrn)
        before = billing.account_aging(session, guarantor, date.today()).balance_cents
    response = pay(practice, patient_http(practice), patient_id, 2000)
    assert response.status_code == 201, response.text
    payment = response.json()

    def arrived() -> bool:
        with desk.store.read() as session:
            return session.get(billing.PortalPayment, payment["id"]) is not None

    qtbot.waitUntil(arrived, timeout=10_000)
    with desk.store.read() as session:
        line = session.scalar(
            select(billing.LedgerLine).where(
                billing.LedgerLine.portal_id == payment["ledger_line_id"]
            )
        )
        after = billing.account_aging(session, guarantor, date.today()).balance_cents
    assert (line.source, line.kind, line.amount_cents) == ("portal", "payment", -2000)
    assert "Visa ending 4242" in line.description
    assert after == before - 2000


def test_statements_screen_previews_generates_and_keeps_history(
    qtbot, qtmodeltester, practice, make_desk, tmp_path
):
    desk = make_desk(practice, role="billing")
    view = desk.window.statements
    assert view is not None
    assert [desk.window.sidebar.item(n).text() for n in range(desk.window.sidebar.count())][-1] == (
        "Statements"
    )
    qtbot.waitUntil(lambda: ledger_count(desk) > 0, timeout=15_000)
    qtbot.waitUntil(lambda: view.settings is not None, timeout=5_000)
    assert not view.banner.isHidden()  # no remit-to address yet

    dialog = view.edit_settings()
    dialog.remit_to.setPlainText("Test Practice Billing\nPO Box 12\nSpringfield, MA 01101")
    dialog.billing_phone.setText("(413) 555-0199")
    dialog.messages["over_120"].setPlainText("Pay {nope}")
    dialog.save()
    assert "Unknown placeholder" in dialog.error.text()
    dialog.messages["over_120"].setPlainText("FINAL NOTICE: pay {amount_due} by {due_date}.")
    dialog.save()
    qtbot.waitUntil(lambda: view.settings is not None and view.settings.ready, timeout=5_000)
    assert view.banner.isHidden()

    view.use_days.setChecked(False)
    view.min_balance.setValue(0.01)
    # One guarantor's address is too long for the envelope window: the preview names them.
    with desk.store.write() as uow:
        account = billing.accounts(uow.session, date.today(), view.filters(), limit=1)[0]
        patient = uow.session.scalar(select(Patient).where(Patient.mrn == account.guarantor_mrn))
        patient.address_line1 = "1200 North Brookside Meadows Parkway, Building " * 2
        patient.address_line2 = "Suite 4100, Attention Accounts Payable Department"
        long_name = f"{patient.last_name}, {patient.first_name}"
    assert view.unfit_label.isHidden()
    view.run_preview()
    qtbot.waitUntil(lambda: view.preview_result is not None, timeout=5_000)
    preview = view.preview_result
    assert preview.count > 0
    assert f"{preview.count:,} statement" in view.preview_label.text()
    assert view.generate_button.isEnabled()
    assert [u.guarantor_mrn for u in preview.unfit_addresses] == [account.guarantor_mrn]
    assert not view.unfit_label.isHidden()
    assert long_name in view.unfit_label.text()
    assert "1 address does not fit the envelope window" in view.unfit_label.text()

    view.generate()
    qtbot.waitUntil(lambda: view.last_result is not None, timeout=30_000)
    result = view.last_result
    assert (result.statement_count, result.total_cents) == (preview.count, preview.total_cents)
    qtbot.waitUntil(lambda: view.runs_model.rowCount() == 1, timeout=5_000)
    qtbot.waitUntil(lambda: view.statements_model.rowCount() == preview.count, timeout=5_000)
    run = view.runs_model.row_at(0)
    assert run.created_by == practice.staff["billing"].name
    assert view.runs_model.data(view.runs_model.index(0, 5)) == f"{preview.count:,}"
    qtmodeltester.check(view.runs_model)
    qtmodeltester.check(view.statements_model)
    view.grab().save(str(tmp_path / "statements.png"))

    first = view.statements_model.row_at(0)
    sent = statement_run.reprint(desk.store, first.id)
    fetched: list[bytes] = []
    view.service.reprint(first.id).success(fetched.append).run()
    qtbot.waitUntil(lambda: bool(fetched), timeout=5_000)
    assert fetched[0] == sent

    _print_the_run_and_reprint_one(qtbot, view, tmp_path, sent)

    # Everyone was just billed: the default filters now select nobody.
    view.use_days.setChecked(True)
    view.run_preview()
    qtbot.waitUntil(lambda: view.preview_result is not None, timeout=5_000)
    assert view.preview_result.count == 0
    assert not view.generate_button.isEnabled()


def _print_job_dialog(qtbot, view):
    qtbot.waitUntil(
        lambda: view.print_job is not None and view.print_job.dialog is not None, timeout=10_000
    )
    return view.print_job.dialog


def _print_the_run_and_reprint_one(qtbot, view, tmp_path, statement_pdf: bytes) -> None:
    """Print run and Reprint go through the print dialog to a PDF file with every page."""
    run = view.selected_run()
    run_pages = len(PdfReader(statement_run.run_pdf(view.service.store, run.id)).pages)
    qtbot.mouseClick(view.print_run_button, Qt.MouseButton.LeftButton)
    printed_run = tmp_path / "printed-run.pdf"
    print_to_pdf(qtbot, _print_job_dialog(qtbot, view), printed_run)
    qtbot.waitUntil(lambda: view.print_job is None, timeout=60_000)
    assert printed_pages(printed_run) == run_pages and first_page_has_ink(printed_run)

    view.statements_table.selectRow(0)
    qtbot.mouseClick(view.reprint_button, Qt.MouseButton.LeftButton)
    preview = _print_job_dialog(qtbot, view)
    qtbot.waitUntil(preview.isVisible, timeout=5_000)
    # A usable preview: big enough for a page, its toolbar and Print button in sight.
    assert preview.width() >= 600 and preview.height() >= 500
    assert preview.toolbar.isVisible()
    assert preview.toolbar.widgetForAction(preview.print_action).isVisible()
    preview.grab().save(str(tmp_path / "print-preview.png"))
    qtbot.mouseClick(
        preview.toolbar.widgetForAction(preview.print_action), Qt.MouseButton.LeftButton
    )
    printed_one = tmp_path / "printed-statement.pdf"
    qtbot.waitUntil(lambda: preview.print_dialog is not None, timeout=5_000)
    print_to_pdf(qtbot, preview.print_dialog, printed_one)
    qtbot.waitUntil(lambda: view.print_job is None, timeout=10_000)
    assert printed_pages(printed_one) == len(PdfReader(io.BytesIO(statement_pdf)).pages)
    assert first_page_has_ink(printed_one)


def test_front_desk_has_no_statements_screen(qtbot, practice, make_desk):
    desk = make_desk(practice, role="front_desk")
    assert desk.window.statements is None
    titles = [desk.window.sidebar.item(n).text() for n in range(desk.window.sidebar.count())]
    assert "Statements" not in titles


def test_statements_read_settings_saved_after_the_screen_was_built(qtbot, practice, make_desk):
    """The demo saves the remit-to address after sign-in: no stale banner, Generate works."""
    from visitdesk.desktop.demo import prepare_demo_desk

    desk = make_desk(practice, role="billing")
    view = desk.window.statements
    qtbot.waitUntil(lambda: view.settings is not None, timeout=5_000)
    assert not view.banner.isHidden()
    qtbot.waitUntil(lambda: ledger_count(desk) > 0, timeout=15_000)
    desk.window.sidebar.setCurrentRow(0)  # look at another screen meanwhile
    assert not view.isVisible()

    # Saved behind the screen's back, as the demo does on another thread.
    prepare_demo_desk(desk.store, practice.practice_name, "(413) 555-0100", practice.base_url)
    titles = [desk.window.sidebar.item(n).text() for n in range(desk.window.sidebar.count())]
    desk.window.sidebar.setCurrentRow(titles.index("Statements"))
    qtbot.waitUntil(lambda: view.banner.isHidden(), timeout=5_000)

    view.use_days.setChecked(False)
    qtbot.mouseClick(view.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.preview_result is not None, timeout=5_000)
    assert view.preview_result.count > 0
    qtbot.waitUntil(view.generate_button.isEnabled, timeout=5_000)


def test_a_preview_reads_the_settings_as_they_are_now(qtbot, practice, make_desk):
    from visitdesk.desktop.demo import prepare_demo_desk

    desk = make_desk(practice, role="billing")
    view = desk.window.statements
    qtbot.waitUntil(lambda: view.settings is not None, timeout=5_000)
    qtbot.waitUntil(lambda: ledger_count(desk) > 0, timeout=15_000)
    prepare_demo_desk(desk.store, practice.practice_name, "(413) 555-0100", practice.base_url)
    view.use_days.setChecked(False)
    qtbot.mouseClick(view.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(view.generate_button.isEnabled, timeout=5_000)
    assert view.banner.isHidden()
