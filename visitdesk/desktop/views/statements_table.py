"""Item models of the Statements screen: runs, their statements, accounts on hold, portal payments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any, TypeVar

from PySide6.QtCore import Qt

from visitdesk.desktop.models.billing import HoldRow, PaymentRow, RunSummary, StatementSummary
from visitdesk.desktop.views.rows import Index, RowsModel
from visitdesk.reports.statement import money, us_date

T = TypeVar("T")


def describe_filters(filters: dict[str, Any]) -> str:
    parts = []
    if filters.get("min_balance_cents"):
        parts.append(f"balance \u2265 {money(int(filters['min_balance_cents']))}")
    if filters.get("min_days_since_last") is not None:
        parts.append(f"not billed for {filters['min_days_since_last']} days")
    skipped = [
        label
        for key, label in (
            ("exclude_zero", "zero"),
            ("exclude_credit", "credit"),
            ("exclude_holds", "on hold"),
        )
        if filters.get(key)
    ]
    if skipped:
        parts.append("skip " + ", ".join(skipped))
    return "; ".join(parts) or "all accounts"


class _RowsModel(RowsModel[T]):
    right_aligned: frozenset[int] = frozenset()

    def cell(self, row: T, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.right_aligned:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return getattr(row, "id", None)
        return None

    def display(self, row: T, column: int) -> str:
        raise NotImplementedError


class RunsModel(_RowsModel[RunSummary]):
    """Every statement run, newest first."""

    columns = ("Run", "When", "By", "Statement date", "Filters", "Statements", "Total")
    right_aligned = frozenset({5, 6})

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def display(self, row: RunSummary, column: int) -> str:
        values: tuple[Callable[[], str], ...] = (
            lambda: f"#{row.id}",
            lambda: f"{row.created_at.astimezone(self._zone):%m/%d/%Y %I:%M %p}",
            lambda: row.created_by,
            lambda: us_date(row.statement_date),
            lambda: describe_filters(row.filters),
            lambda: f"{row.statement_count:,}",
            lambda: money(row.total_cents),
        )
        return values[column]()


class StatementsModel(_RowsModel[StatementSummary]):
    """The statements of one run (or the latest statements made on demand)."""

    columns = ("Account", "Account holder", "Statement date", "Amount due", "Pages", "Made by")
    right_aligned = frozenset({3, 4})

    def display(self, row: StatementSummary, column: int) -> str:
        values = (
            row.guarantor_mrn,
            row.guarantor_name,
            us_date(row.statement_date),
            money(row.amount_due_cents),
            str(row.page_count),
            row.created_by,
        )
        return values[column]


def _person(name: str, mrn: str) -> str:
    return name or f"(not in the patient list) MRN {mrn}"


class HoldsModel(_RowsModel[HoldRow]):
    """Accounts on hold: left out of statement runs that skip accounts on hold."""

    columns = ("Account holder", "Account", "On hold since", "Reason", "Placed by")

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def display(self, row: HoldRow, column: int) -> str:
        values: tuple[Callable[[], str], ...] = (
            lambda: _person(row.guarantor_name, row.guarantor_mrn),
            lambda: row.guarantor_mrn,
            lambda: f"{row.created_at.astimezone(self._zone):%m/%d/%Y %I:%M %p}",
            lambda: " ".join(row.reason.split()),
            lambda: row.created_by,
        )
        return values[column]()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.UserRole:
            row = self.row_at(index.row()) if index.isValid() else None
            return row.guarantor_mrn if row is not None else None
        return super().data(index, role)


class PaymentsModel(_RowsModel[PaymentRow]):
    """Card payments patients made on the portal, newest first."""

    columns = ("Paid at", "Patient", "Account holder", "Amount", "Card", "Status")
    right_aligned = frozenset({3})

    def __init__(self, zone: tzinfo, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def display(self, row: PaymentRow, column: int) -> str:
        values: tuple[Callable[[], str], ...] = (
            lambda: f"{row.created_at.astimezone(self._zone):%m/%d/%Y %I:%M %p}",
            lambda: f"{_person(row.patient_name, row.patient_mrn)} ({row.patient_mrn})",
            lambda: (
                f"{_person(row.guarantor_name, row.guarantor_mrn)} ({row.guarantor_mrn})"
                if row.guarantor_mrn
                else "\u2014"
            ),
            lambda: money(row.amount_cents),
            lambda: f"{row.card_brand or 'Card'} ending {row.card_last4}",
            lambda: "Approved, in the ledger" if row.posted else "Approved, ledger line on its way",
        )
        return values[column]()
