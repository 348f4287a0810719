"""The Audit screen (office managers): the portal's audit trail filtered by person, patient,
action and day; Verify checks the whole chain and the signed head this workstation remembers;
CSV and PDF exports.

Every time the screen loads, the portal's signed head is checked against the one this desk saw
last, and a warning stays on screen if the trail no longer extends it.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire_audit import AuditEventOut, AuditPage
from visitdesk.desktop.ops.audit import (
    ACTION_FILTERS,
    AuditFilter,
    HeadCheck,
    VerifyResult,
    event_cells,
)
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.tasks import Op
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.portal_lists import (
    PathChooser,
    choose_save_path,
    empty_stack,
    error_text,
)
from visitdesk.desktop.views.rows import PagedRowsModel
from visitdesk.desktop.views.tables import rows_table

log = logging.getLogger(__name__)

_ANY_DAY = QDate(2000, 1, 1)


class AuditModel(PagedRowsModel[AuditEventOut]):
    columns = ("When", "Who", "Workstation", "Action", "Patient", "Record", "Event")

    def __init__(self, zone: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def key_of(self, row: AuditEventOut) -> Any:
        return row.seq

    def cell(self, row: AuditEventOut, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return event_cells(row, self._zone)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            facts = ", ".join(f"{k}: {v}" for k, v in sorted(row.details.items()))
            return facts or None
        return None


def _day_edit() -> QDateEdit:
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("MM/dd/yyyy")
    edit.setMinimumDate(_ANY_DAY)
    # The minimum stands for "no limit".
    edit.setSpecialValueText("Any day")
    edit.setDate(_ANY_DAY)
    return edit


def _day(edit: QDateEdit) -> date | None:
    value = edit.date()
    return None if value == _ANY_DAY else date(value.year(), value.month(), value.day())


class AuditView(QWidget):
    message = Signal(str)

    def __init__(
        self,
        ops: DeskOps,
        parent: QWidget | None = None,
        *,
        choose_path: PathChooser = choose_save_path,
    ) -> None:
        super().__init__(parent)
        self._ops = ops
        self._audit = ops.audit
        self.choose_path = choose_path
        self.page_size = 200
        self._generation = 0

        title = plain_label("Audit trail", "screenTitle")
        self.warning = QFrame()
        self.warning.setObjectName("problemBanner")
        self.warning_text = plain_label()
        self.warning_text.setWordWrap(True)
        warning_layout = QHBoxLayout(self.warning)
        warning_layout.addWidget(self.warning_text, 1)
        self.warning.hide()

        self.person = QLineEdit()
        self.person.setPlaceholderText("Person")
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("Patient name or MRN")
        self.action = QComboBox()
        for label, value in ACTION_FILTERS:
            self.action.addItem(label, value)
        self.since = _day_edit()
        self.until = _day_edit()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.reload)
        for field in (self.person, self.patient):
            field.textChanged.connect(lambda _t: self._debounce.start())
        self.action.currentIndexChanged.connect(lambda _i: self.reload())
        self.since.dateChanged.connect(lambda _d: self.reload())
        self.until.dateChanged.connect(lambda _d: self.reload())
        filters = QHBoxLayout()
        filters.addWidget(self.person, 2)
        filters.addWidget(self.patient, 2)
        filters.addWidget(self.action, 1)
        filters.addWidget(QLabel("From"))
        filters.addWidget(self.since)
        filters.addWidget(QLabel("to"))
        filters.addWidget(self.until)

        self.model = AuditModel(ops.session.zone, self)
        self.model.more = self._fetch_more
        self.table = rows_table(self.model, stretch=4)
        for column in (1,):
            self.table.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.Stretch
            )
        self.empty = plain_label("Loading\u2026")
        self.stack = empty_stack(self.table, self.empty)

        self.verify_button = QPushButton("Verify")
        self.verify_button.setToolTip(
            "Check every event of the chain and the signed head this workstation saw last"
        )
        self.verify_button.clicked.connect(self.verify)
        self.verify_result = plain_label("")
        self.verify_result.setWordWrap(True)
        self.summary = plain_label("")
        self.csv_button = QPushButton("Export CSV\u2026")
        self.pdf_button = QPushButton("Export PDF\u2026")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.pdf_button.clicked.connect(lambda: self.export("pdf"))
        actions = QHBoxLayout()
        actions.addWidget(self.verify_button)
        actions.addWidget(self.verify_result, 1)
        actions.addWidget(self.summary)
        actions.addWidget(self.csv_button)
        actions.addWidget(self.pdf_button)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.warning)
        layout.addLayout(filters)
        layout.addWidget(self.stack, 1)
        layout.addLayout(actions)
        self.reload()
        self.check_head()

    # ---- events

    def where(self) -> AuditFilter:
        return AuditFilter(
            person=self.person.text(),
            patient=self.patient.text(),
            action=self.action.currentData(),
            since=_day(self.since),
            until=_day(self.until),
        )

    def reload(self) -> None:
        self._generation += 1
        generation = self._generation
        self.model.fetching = True
        self._load(None, generation, first=True)

    def _fetch_more(self, before: int) -> None:
        self._load(before, self._generation, first=False)

    def _load(self, before: int | None, generation: int, *, first: bool) -> None:
        (
            self._audit.page(self.where(), before, self.page_size)
            .owned_by(self)
            .success(lambda page: self._loaded(generation, page, first))
            .failure(lambda error: self._failed(generation, error))
            .run()
        )

    def _loaded(self, generation: int, page: AuditPage, first: bool) -> None:
        if generation != self._generation:
            return
        if first:
            self.model.set_page(page.events, page.next_before)
        else:
            self.model.append(page.events, page.next_before)
        count = len(self.model.rows)
        more = "+" if self.model.next_page is not None else ""
        self.summary.setText(f"{count:,}{more} event{'s' if count != 1 or more else ''}")
        if count:
            self.stack.setCurrentWidget(self.table)
        else:
            where = self.where()
            self.empty.setText(
                "No event matches these filters."
                if where.params()
                else "The audit trail is empty: nothing has been done at this practice yet."
            )
            self.stack.setCurrentWidget(self.empty)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.model.fetching = False
        log.error("Loading the audit trail failed: %s", type(error).__name__)
        if not self.model.rows:
            self.empty.setText(error_text(error, "reading the audit trail"))
            self.stack.setCurrentWidget(self.empty)
        else:
            self.message.emit(error_text(error, "reading more of the audit trail"))

    # ---- the signed head and Verify

    def check_head(self) -> None:
        self._audit.check_head().owned_by(self).success(self._show_head).failure(
            lambda error: log.error("Audit head check failed: %s", type(error).__name__)
        ).run()

    def _show_head(self, check: HeadCheck) -> None:
        if check.ok:
            return
        self.warning_text.setText(f"Audit trail warning: {check.message}")
        self.warning.show()

    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.verify_result.setText("Checking every event\u2026")
        (
            self._audit.verify()
            .owned_by(self)
            .success(self._verified)
            .failure(self._verify_failed)
            .run()
        )

    def _verified(self, result: VerifyResult) -> None:
        self.verify_button.setEnabled(True)
        chain = result.chain
        if not chain.ok:
            before = {0: "No event before it", 1: "The one event before it verifies"}.get(
                chain.checked, f"The {chain.checked:,} events before it verify"
            )
            self.verify_result.setText(
                f"Broken at event #{chain.broken_at_seq}: {chain.reason}. {before}."
            )
        elif not result.head.ok:
            self.verify_result.setText(
                f"The chain links up ({counted(chain.checked, 'event')}), but {result.head.message}"
            )
        else:
            self.verify_result.setText(verified_words(chain.checked, chain.checkpoints))
        self._show_head(result.head)

    def _verify_failed(self, error: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self.verify_result.setText(error_text(error, "verifying"))

    # ---- exports

    def export(self, kind: str) -> None:
        file_filter = "CSV files (*.csv)" if kind == "csv" else "PDF files (*.pdf)"
        path = self.choose_path(self, f"Export {kind.upper()}", f"audit-trail.{kind}", file_filter)
        if path is None:
            return
        if path.suffix.lower() != f".{kind}":
            path = path.with_suffix(f".{kind}")
        where = self.where()
        op: Op[bytes] = (
            self._audit.export_csv(where) if kind == "csv" else self._audit.export_pdf(where)
        )
        self.message.emit("Preparing the export\u2026")
        (
            op.owned_by(self)
            .success(
                lambda data: (
                    self._ops.save_file(path, data)
                    .owned_by(self)
                    .success(lambda _n: self.message.emit(f"Saved {path.name}."))
                    .failure(lambda _e: self.message.emit(f"Could not save to {path}."))
                    .run()
                )
            )
            .failure(lambda error: self.message.emit(error_text(error, "exporting")))
            .run()
        )


def counted(number: int, thing: str) -> str:
    """ "1 event", "2 events", "1,024 events"."""
    return f"{number:,} {thing}{'' if number == 1 else 's'}"


def verified_words(events: int, heads: int) -> str:
    """What a clean Verify says, in words that read right for 0, 1 and many."""
    if events == 0:
        return "There are no events to check yet."
    chain = "The one event verifies" if events == 1 else f"All {events:,} events verify"
    signed = "no signed head yet" if heads == 0 else counted(heads, "signed head")
    return f"{chain}, and {signed}."
