"""What the Statements screen may do, as background operations; no Qt widgets here.

Every call returns an `Op` from the session's task runner: reading the store, rendering and
archiving statements all happen off the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from visitdesk.api.wire import Role
from visitdesk.desktop.controller import DeskController
from visitdesk.desktop.models import billing
from visitdesk.desktop.models.billing import StatementFilters, StatementSettings
from visitdesk.desktop.models.ledger_import import import_ledger_csv
from visitdesk.desktop.tasks import Op
from visitdesk.reports import statement_run

#: The roles that work with ledgers and statements (the portal enforces the same for uploads).
BILLING_ROLES = frozenset({Role.BILLING, Role.MANAGER})


@dataclass
class BillingService:
    controller: DeskController

    @property
    def store(self) -> Any:
        return self.controller.store

    def today(self) -> date:
        return self.controller.today()

    def settings(self) -> Op[StatementSettings]:
        return self.controller.runner.op(statement_run.load_settings, self.store)

    def save_settings(self, settings: StatementSettings) -> Op[None]:
        def save() -> None:
            with self.store.write() as uow:
                billing.save_settings(uow.session, settings)

        return self.controller.runner.op(save)

    def preview(self, filters: StatementFilters) -> Op[billing.RunPreview]:
        day = self.today()

        def run() -> billing.RunPreview:
            with self.store.read() as session:
                return billing.preview(session, day, filters)

        return self.controller.runner.op(run)

    def generate(
        self, filters: StatementFilters, cancel: threading.Event
    ) -> Op[statement_run.RunResult]:
        day = self.today()
        name = self.controller.staff.name

        def run(progress: Callable[[int, int], None]) -> statement_run.RunResult:
            return statement_run.generate_run(
                self.store,
                filters=filters,
                statement_date=day,
                staff_name=name,
                progress=progress,
                cancel=cancel,
            )

        return self.controller.runner.op(run)

    def history(self) -> Op[list[billing.RunSummary]]:
        def run() -> list[billing.RunSummary]:
            with self.store.read() as session:
                return billing.runs(session)

        return self.controller.runner.op(run)

    def statements_of(self, run_id: int | None) -> Op[list[billing.StatementSummary]]:
        def run() -> list[billing.StatementSummary]:
            with self.store.read() as session:
                if run_id is None:
                    return billing.statements(session, limit=500)
                return billing.statements(session, run_id=run_id, limit=100_000)

        return self.controller.runner.op(run)

    def reprint(self, statement_id: int) -> Op[bytes]:
        return self.controller.runner.op(statement_run.reprint, self.store, statement_id)

    def run_pdf(self, run_id: int) -> Op[Path]:
        return self.controller.runner.op(statement_run.run_pdf, self.store, run_id)

    def statement_for_patient(self, mrn: str) -> Op[statement_run.OnDemandStatement]:
        return self.controller.runner.op(
            statement_run.statement_for_patient,
            self.store,
            mrn,
            self.today(),
            self.controller.staff.name,
        )

    def import_ledger(self, path: Path, cancel: threading.Event) -> Op[Any]:
        return self.controller.import_csv(import_ledger_csv, path, cancel)

    # ---- account holds (local to this desk's store: they only steer statement runs)

    def holds(self) -> Op[list[billing.HoldRow]]:
        def run() -> list[billing.HoldRow]:
            with self.store.read() as session:
                return billing.holds(session)

        return self.controller.runner.op(run)

    def hold_target(self, patient_mrn: str) -> Op[billing.HoldTarget]:
        day = self.today()

        def run() -> billing.HoldTarget:
            with self.store.read() as session:
                return billing.hold_target(session, patient_mrn, day)

        return self.controller.runner.op(run)

    def place_hold(self, guarantor_mrn: str, reason: str) -> Op[None]:
        reason = reason.strip()
        if not reason:
            raise ValueError("A hold needs a reason.")
        name = self.controller.staff.name

        def run() -> None:
            with self.store.write() as uow:
                billing.place_hold(uow.session, guarantor_mrn, reason, name)

        return self.controller.runner.op(run)

    def release_hold(self, guarantor_mrn: str) -> Op[None]:
        def run() -> None:
            with self.store.write() as uow:
                billing.release_hold(uow.session, guarantor_mrn)

        return self.controller.runner.op(run)

    # ---- portal payments

    def portal_payments(self, limit: int = 500) -> Op[list[billing.PaymentRow]]:
        def run() -> list[billing.PaymentRow]:
            with self.store.read() as session:
                return billing.portal_payment_rows(session, limit)

        return self.controller.runner.op(run)
