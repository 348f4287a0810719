"""Billing: statement settings, previews, runs, reprints, holds and portal payments.

Every call returns an `Op` from the session's task runner: reading the store, rendering and
archiving statements all happen off the GUI thread. Ledger imports are `ImportOps`' job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

from visitdesk.desktop.models import billing
from visitdesk.desktop.models.billing import StatementFilters, StatementSettings
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops import statement_run
from visitdesk.desktop.ops.base import StoreOps, SyncKick
from visitdesk.desktop.tasks import Op, TaskRunner


class BillingOps(StoreOps):
    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        sync: SyncKick,
        *,
        staff_name: str,
        today: Callable[[], date],
    ) -> None:
        super().__init__(runner, store, sync)
        self.staff_name = staff_name
        self.today = today

    def settings(self) -> Op[StatementSettings]:
        return self.runner.op(statement_run.load_settings, self.store)

    def save_settings(self, settings: StatementSettings) -> Op[None]:
        def save() -> None:
            with self.store.write() as uow:
                billing.save_settings(uow.session, settings)

        return self.runner.op(save)

    def preview(self, filters: StatementFilters) -> Op[billing.RunPreview]:
        day = self.today()

        def run() -> billing.RunPreview:
            with self.store.read() as session:
                return billing.preview(session, day, filters)

        return self.runner.op(run)

    def generate(
        self, filters: StatementFilters, cancel: threading.Event
    ) -> Op[statement_run.RunResult]:
        day = self.today()
        name = self.staff_name

        def run(progress: Callable[[int, int], None]) -> statement_run.RunResult:
            return statement_run.generate_run(
                self.store,
                filters=filters,
                statement_date=day,
                staff_name=name,
                progress=progress,
                cancel=cancel,
            )

        return self.runner.op(run)

    def history(self) -> Op[list[billing.RunSummary]]:
        def run() -> list[billing.RunSummary]:
            with self.store.read() as session:
                return billing.runs(session)

        return self.runner.op(run)

    def statements_of(self, run_id: int | None) -> Op[list[billing.StatementSummary]]:
        def run() -> list[billing.StatementSummary]:
            with self.store.read() as session:
                if run_id is None:
                    return billing.statements(session, limit=500)
                return billing.statements(session, run_id=run_id, limit=100_000)

        return self.runner.op(run)

    def reprint(self, statement_id: int) -> Op[bytes]:
        return self.runner.op(statement_run.reprint, self.store, statement_id)

    def run_pdf(self, run_id: int) -> Op[Path]:
        return self.runner.op(statement_run.run_pdf, self.store, run_id)

    def statement_for_patient(self, mrn: str) -> Op[statement_run.OnDemandStatement]:
        return self.runner.op(
            statement_run.statement_for_patient,
            self.store,
            mrn,
            self.today(),
            self.staff_name,
        )

    # ---- account holds (local to this desk's store: they only steer statement runs)

    def holds(self) -> Op[list[billing.HoldRow]]:
        def run() -> list[billing.HoldRow]:
            with self.store.read() as session:
                return billing.holds(session)

        return self.runner.op(run)

    def hold_target(self, patient_mrn: str) -> Op[billing.HoldTarget]:
        day = self.today()

        def run() -> billing.HoldTarget:
            with self.store.read() as session:
                return billing.hold_target(session, patient_mrn, day)

        return self.runner.op(run)

    def place_hold(self, guarantor_mrn: str, reason: str) -> Op[None]:
        reason = reason.strip()
        if not reason:
            raise ValueError("A hold needs a reason.")
        name = self.staff_name

        def run() -> None:
            with self.store.write() as uow:
                billing.place_hold(uow.session, guarantor_mrn, reason, name)

        return self.runner.op(run)

    def release_hold(self, guarantor_mrn: str) -> Op[None]:
        def run() -> None:
            with self.store.write() as uow:
                billing.release_hold(uow.session, guarantor_mrn)

        return self.runner.op(run)

    # ---- portal payments

    def portal_payments(self, limit: int = 500) -> Op[list[billing.PaymentRow]]:
        def run() -> list[billing.PaymentRow]:
            with self.store.read() as session:
                return billing.portal_payment_rows(session, limit)

        return self.runner.op(run)
