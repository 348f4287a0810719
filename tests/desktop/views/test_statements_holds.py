"""The Statements screen's accounts on hold and portal payments tabs (real portal, offscreen)."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.billing_api import patient_http, pay
from visitdesk.desktop.models import billing
from visitdesk.desktop.models.schema import Patient


def ledger_count(desk) -> int:
    with desk.store.read() as session:
        return session.scalar(select(func.count()).select_from(billing.LedgerLine)) or 0


def preview_count(qtbot, view, before: int | None) -> int:
    view.run_preview()
    qtbot.waitUntil(
        lambda: view.preview_result is not None and view.preview_result.count != before,
        timeout=5_000,
    )
    return view.preview_result.count


def test_a_hold_leaves_the_account_out_of_the_run_until_released(
    qtbot, qtmodeltester, practice, make_desk, tmp_path
):
    desk = make_desk(practice, role="billing")
    view = desk.window.statements
    qtbot.waitUntil(lambda: ledger_count(desk) > 0, timeout=15_000)
    qtbot.waitUntil(lambda: view.holds.loaded, timeout=5_000)
    assert view.holds.model.rowCount() == 0
    assert not view.holds.release_button.isEnabled()
    view.use_days.setChecked(False)
    view.min_balance.setValue(0.01)
    view.preview_result = None
    count = preview_count(qtbot, view, None)
    assert count > 0

    with desk.store.read() as session:
        billed = billing.accounts(session, desk.ops.session.today(), view.filters())
        target = next(
            a
            for a in billed
            if a.last_name and billing.guarantor_of(session, a.guarantor_mrn) == a.guarantor_mrn
        )

    dialog = view.holds.ask_place()
    assert not dialog.ok_button.isEnabled()
    dialog.search.field.setText(target.guarantor_mrn)
    dialog.search.search_now()
    qtbot.waitUntil(lambda: dialog.target is not None, timeout=5_000)
    assert dialog.target.guarantor_mrn == target.guarantor_mrn
    assert target.guarantor_mrn in dialog.account_label.text()
    assert not dialog.ok_button.isEnabled()  # a reason is required
    dialog.reason.setText("   ")
    assert not dialog.ok_button.isEnabled()
    dialog.reason.setText("Disputed charge, call pending")
    assert dialog.ok_button.isEnabled()
    dialog.grab().save(str(tmp_path / "place_hold.png"))
    dialog.ok_button.click()

    qtbot.waitUntil(lambda: view.holds.model.rowCount() == 1, timeout=5_000)
    row = view.holds.model.row_at(0)
    assert (row.guarantor_mrn, row.reason) == (
        target.guarantor_mrn,
        "Disputed charge, call pending",
    )
    assert row.created_by == practice.staff["billing"].name
    model = view.holds.model
    assert model.data(model.index(0, 0)) == f"{target.last_name}, {target.first_name}"
    assert model.data(model.index(0, 1)) == target.guarantor_mrn
    qtmodeltester.check(model)
    # The shown preview is counted again without the held account.
    qtbot.waitUntil(
        lambda: view.preview_result is not None and view.preview_result.count == count - 1,
        timeout=5_000,
    )
    view.exclude_holds.setChecked(False)
    assert preview_count(qtbot, view, None) == count
    view.exclude_holds.setChecked(True)
    assert preview_count(qtbot, view, None) == count - 1

    view.tabs.setCurrentWidget(view.holds)
    view.resize(1280, 800)
    view.grab().save(str(tmp_path / "holds_tab.png"))

    # The same account cannot be held twice.
    again = view.holds.ask_place()
    again.search.field.setText(target.guarantor_mrn)
    again.search.search_now()
    qtbot.waitUntil(lambda: again.target is not None, timeout=5_000)
    again.reason.setText("Twice")
    assert "already on hold" in again.account_label.text()
    assert not again.ok_button.isEnabled()
    again.reject()

    view.holds.table.selectRow(0)
    assert view.holds.release_button.isEnabled()
    view.holds.release_button.click()
    qtbot.waitUntil(lambda: view.holds.model.rowCount() == 0, timeout=5_000)
    qtbot.waitUntil(
        lambda: view.preview_result is not None and view.preview_result.count == count,
        timeout=5_000,
    )
    with desk.store.read() as session:
        assert billing.holds(session) == []


def test_a_portal_payment_shows_in_the_payments_tab(
    qtbot, qtmodeltester, practice, make_desk, tmp_path
):
    desk = make_desk(practice, role="manager")
    view = desk.window.statements
    assert view is not None
    qtbot.waitUntil(lambda: ledger_count(desk) > 0, timeout=15_000)
    qtbot.waitUntil(lambda: view.payments.loaded, timeout=5_000)
    assert view.payments.model.rowCount() == 0
    assert "No patient has paid" in view.payments.summary.text()

    patient_id = practice.patients[0].patient_ids[0]
    http = patient_http(practice)
    first = pay(practice, http, patient_id, 1000)
    assert first.status_code == 201, first.text
    second = pay(practice, http, patient_id, 575)
    assert second.status_code == 201, second.text

    model = view.payments.model

    def shown() -> bool:
        return model.rowCount() == 2 and all(
            model.row_at(n).posted for n in range(model.rowCount())
        )

    qtbot.waitUntil(shown, timeout=15_000)
    newest = model.row_at(0)
    assert newest.id == second.json()["id"]  # newest first
    assert model.data(model.index(0, 3)) == "$5.75"
    assert model.data(model.index(1, 3)) == "$10.00"
    assert model.data(model.index(0, 4)) == "Visa ending 4242"
    assert model.data(model.index(0, 5)) == "Approved, in the ledger"
    with desk.store.read() as session:
        mrn = session.scalar(select(Patient.mrn).where(Patient.portal_id == patient_id))
    assert f"({mrn})" in model.data(model.index(0, 1))
    assert "2 card payments" in view.payments.summary.text()
    qtmodeltester.check(model)

    view.tabs.setCurrentWidget(view.payments)
    view.resize(1280, 800)
    view.grab().save(str(tmp_path / "payments_tab.png"))
