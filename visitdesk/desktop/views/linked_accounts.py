"""The Linked accounts screen (office managers): who can see which patient through the portal,
how each link was made and who allowed it; the review list; revoke, lock, unlock; exports.

The list comes from the portal page by page as the table scrolls (the portal searches and sorts
in SQL), so 100,000 accounts open as fast as ten.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire_links import (
    AccountState,
    LinkPage,
    LinkRow,
    LinkState,
    ReviewList,
    ReviewSettings,
)
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.ops.links import LinkQuery
from visitdesk.desktop.tasks import Op
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.linked_accounts_table import LinksModel, ReviewModel
from visitdesk.desktop.views.portal_lists import (
    PathChooser,
    choose_save_path,
    empty_stack,
    error_text,
)
from visitdesk.desktop.views.tables import rows_table

log = logging.getLogger(__name__)

_STATES: tuple[tuple[str, LinkState], ...] = (
    ("All links", "all"),
    ("Active links", "active"),
    ("Revoked links", "revoked"),
)


class ReasonDialog(QDialog):
    """Asks for the reason an action needs; OK only once there is one."""

    def __init__(self, title: str, prompt: str, action: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        label = plain_label(prompt)
        label.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setMaxLength(500)
        self.reason.setPlaceholderText("Reason (kept in the audit trail)")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(action)
        self.ok_button.setEnabled(False)
        self.reason.textChanged.connect(
            lambda text: self.ok_button.setEnabled(len(text.strip()) >= 3)
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        self.resize(460, self.sizeHint().height())

    def text(self) -> str:
        return self.reason.text().strip()


class ReviewSettingsDialog(QDialog):
    def __init__(self, settings: ReviewSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Review rules")
        self.setModal(True)
        self.review_age = QSpinBox()
        self.review_age.setRange(10, 17)
        self.review_age.setValue(settings.review_age)
        self.many = QSpinBox()
        self.many.setRange(2, 100)
        self.many.setValue(settings.many_patients)
        self.unused = QSpinBox()
        self.unused.setRange(30, 3650)
        self.unused.setSuffix(" days")
        self.unused.setValue(settings.unused_days)
        form = QFormLayout()
        form.addRow("Review a minor's link at age", self.review_age)
        form.addRow("Review accounts linked to at least", self.many)
        form.addRow("Review accounts unused for", self.unused)
        note = plain_label("Links of minors are also reviewed when the patient turns 18.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

    def settings(self) -> ReviewSettings:
        return ReviewSettings(
            review_age=self.review_age.value(),
            many_patients=self.many.value(),
            unused_days=self.unused.value(),
        )


class LinkedAccountsView(QWidget):
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
        self._links = ops.links
        #: Where exports are saved (a file dialog; tests give a folder).
        self.choose_path = choose_path
        #: Links per page read from the portal.
        self.page_size = 200
        self._review: ReviewList | None = None
        self._generation = 0
        self.dialog: QDialog | None = None

        title = plain_label("Linked accounts", "screenTitle")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find: the start of a name, email, username or MRN")
        self.search.setClearButtonEnabled(True)
        self.state = QComboBox()
        for label, value in _STATES:
            self.state.addItem(label, value)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.state.currentIndexChanged.connect(lambda _i: self.reload())

        self.revoke_button = QPushButton("Revoke link\u2026")
        self.lock_button = QPushButton("Lock account\u2026")
        self.export_csv_button = QPushButton("Export CSV\u2026")
        self.export_pdf_button = QPushButton("Export PDF\u2026")
        self.revoke_button.clicked.connect(self.ask_revoke)
        self.lock_button.clicked.connect(self.ask_lock)
        self.export_csv_button.clicked.connect(lambda: self.export_links("csv"))
        self.export_pdf_button.clicked.connect(lambda: self.export_links("pdf"))

        self.model = LinksModel(ops.session.zone, self)
        self.model.more = self._fetch_more
        self.table = rows_table(self.model, stretch=9)
        # Names share the spare width (and are elided first) so the table never scrolls sideways.
        for column in (0, 2):
            self.table.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.Stretch
            )
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.empty = plain_label("Loading\u2026")
        self.links_stack = empty_stack(self.table, self.empty)
        self.summary = plain_label("")

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.state)
        actions = QHBoxLayout()
        actions.addWidget(self.revoke_button)
        actions.addWidget(self.lock_button)
        actions.addStretch(1)
        actions.addWidget(self.summary)
        actions.addWidget(self.export_csv_button)
        actions.addWidget(self.export_pdf_button)
        links_page = QWidget()
        links_layout = QVBoxLayout(links_page)
        links_layout.addLayout(top)
        links_layout.addWidget(self.links_stack, 1)
        links_layout.addLayout(actions)

        self.review_model = ReviewModel(self)
        self.review_table = rows_table(self.review_model, stretch=4)
        self.review_empty = plain_label("Loading\u2026")
        self.review_stack = empty_stack(self.review_table, self.review_empty)
        self.review_summary = plain_label("")
        self.rules_button = QPushButton("Review rules\u2026")
        self.refresh_review_button = QPushButton("Refresh")
        self.review_csv_button = QPushButton("Export CSV\u2026")
        self.review_pdf_button = QPushButton("Export PDF\u2026")
        self.rules_button.clicked.connect(self.edit_rules)
        self.refresh_review_button.clicked.connect(self.reload_review)
        self.review_csv_button.clicked.connect(lambda: self.export_review("csv"))
        self.review_pdf_button.clicked.connect(lambda: self.export_review("pdf"))
        self.find_button = QPushButton("Show in list")
        self.find_button.clicked.connect(self.show_in_list)
        review_actions = QHBoxLayout()
        review_actions.addWidget(self.find_button)
        review_actions.addWidget(self.rules_button)
        review_actions.addWidget(self.refresh_review_button)
        review_actions.addStretch(1)
        review_actions.addWidget(self.review_summary)
        review_actions.addWidget(self.review_csv_button)
        review_actions.addWidget(self.review_pdf_button)
        review_page = QWidget()
        review_layout = QVBoxLayout(review_page)
        review_layout.addWidget(self.review_stack, 1)
        review_layout.addLayout(review_actions)

        self.tabs = QTabWidget()
        self.tabs.addTab(links_page, "All links")
        self.tabs.addTab(review_page, "Needs review")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.tabs, 1)
        self._update_buttons()
        self.reload()
        self.reload_review()

    # ---- the list

    def query(self) -> LinkQuery:
        return LinkQuery(search=self.search.text(), state=self.state.currentData())

    def reload(self) -> None:
        self._generation += 1
        generation = self._generation
        self.model.fetching = True
        (
            self._links.page(self.query(), None, self.page_size)
            .owned_by(self)
            .success(lambda page: self._first_page(generation, page))
            .failure(lambda error: self._load_failed(generation, error))
            .run()
        )

    def _first_page(self, generation: int, page: LinkPage) -> None:
        if generation != self._generation:
            return
        self.model.set_page(page.rows, page.next_cursor)
        self._show_count()
        self._update_buttons()

    def _fetch_more(self, cursor: str) -> None:
        generation = self._generation
        (
            self._links.page(self.query(), cursor, self.page_size)
            .owned_by(self)
            .success(lambda page: self._next_page(generation, page))
            .failure(lambda error: self._load_failed(generation, error))
            .run()
        )

    def _next_page(self, generation: int, page: LinkPage) -> None:
        if generation != self._generation:
            return
        self.model.append(page.rows, page.next_cursor)
        self._show_count()

    def _load_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.model.fetching = False
        log.error("Loading linked accounts failed: %s", type(error).__name__)
        if not self.model.rows:
            self.empty.setText(error_text(error, "listing linked accounts"))
            self.links_stack.setCurrentWidget(self.empty)
        else:
            self.message.emit(error_text(error, "loading more links"))

    def _show_count(self) -> None:
        count = len(self.model.rows)
        more = "+" if self.model.next_page is not None else ""
        self.summary.setText(f"{count:,}{more} link{'s' if count != 1 or more else ''}")
        if count:
            self.links_stack.setCurrentWidget(self.table)
            return
        query = self.query()
        if query.search.strip():
            self.empty.setText(f'No link matches "{query.search.strip()}".')
        elif query.state == "revoked":
            self.empty.setText("No link has been revoked.")
        else:
            self.empty.setText(
                "No portal account is linked to a patient of this practice yet. Links appear "
                "here when patients register with a code, connect with a Safe Health Code, or "
                "staff match a registration."
            )
        self.links_stack.setCurrentWidget(self.empty)

    def selected_link(self) -> LinkRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select_row(self, number: int) -> None:
        self.table.selectRow(number)

    def _update_buttons(self, *_: Any) -> None:
        row = self.selected_link()
        self.revoke_button.setEnabled(row is not None and row.revoked_at is None)
        self.lock_button.setEnabled(row is not None)
        self.lock_button.setText(
            "Unlock account\u2026"
            if row is not None and row.account_locked
            else "Lock account\u2026"
        )

    # ---- revoke, lock, unlock

    def ask_revoke(self) -> ReasonDialog | None:
        row = self.selected_link()
        if row is None or row.revoked_at is not None:
            return None
        dialog = ReasonDialog(
            "Revoke link",
            f"{row.account_name} ({row.account_login}) will no longer see {row.patient_name}'s "
            "records through the portal, from now on. The account holder is emailed that access "
            "changed (the email does not name the patient).",
            "Revoke",
            self,
        )
        dialog.accepted.connect(lambda: self._revoke(row, dialog.text()))
        return self._open(dialog)

    def _revoke(self, row: LinkRow, reason: str) -> None:
        (
            self._links.revoke(row.link_id, reason, str(uuid.uuid4()))
            .owned_by(self)
            .success(self._revoked)
            .failure(lambda error: self.message.emit(error_text(error, "revoking the link")))
            .run()
        )

    def _revoked(self, row: LinkRow) -> None:
        self.model.replace(row)
        self._update_buttons()
        self.message.emit(f"{row.account_name} no longer has access to {row.patient_name}.")
        self.reload_review()

    def ask_lock(self) -> QDialog | None:
        row = self.selected_link()
        if row is None:
            return None
        if row.account_locked:
            self._set_locked(row, False, "")
            return None
        dialog = ReasonDialog(
            "Lock portal account",
            f"{row.account_name} ({row.account_login}) will be signed out and unable to sign in "
            "to the portal until the account is unlocked.",
            "Lock",
            self,
        )
        dialog.accepted.connect(lambda: self._set_locked(row, True, dialog.text()))
        return self._open(dialog)

    def _set_locked(self, row: LinkRow, locked: bool, reason: str) -> None:
        (
            self._links.set_locked(row.account_id, locked, reason, str(uuid.uuid4()))
            .owned_by(self)
            .success(lambda state: self._lock_changed(row, state))
            .failure(lambda error: self.message.emit(error_text(error, "changing the account")))
            .run()
        )

    def _lock_changed(self, row: LinkRow, state: AccountState) -> None:
        self.model.mark_account(state.account_id, state.locked)
        self._update_buttons()
        word = "locked" if state.locked else "unlocked"
        self.message.emit(f"{row.account_name}'s portal account is {word}.")

    def _open(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    # ---- the review

    def reload_review(self) -> None:
        (
            self._links.review()
            .owned_by(self)
            .success(self._show_review)
            .failure(self._review_failed)
            .run()
        )

    def _show_review(self, review: ReviewList) -> None:
        self._review = review
        self.review_model.set_rows(review.items)
        total = review.total
        self.tabs.setTabText(1, f"Needs review ({total})" if total else "Needs review")
        shown = len(review.items)
        self.review_summary.setText(
            f"{total:,} item{'s' if total != 1 else ''}"
            + (f" (first {shown:,} shown)" if shown < total else "")
        )
        if shown:
            self.review_stack.setCurrentWidget(self.review_table)
        else:
            self.review_empty.setText(
                "Nothing needs review: no link or account matches the practice's review rules "
                f"(review age {review.settings.review_age}, {review.settings.many_patients} or "
                f"more patients, unused for {review.settings.unused_days} days)."
            )
            self.review_stack.setCurrentWidget(self.review_empty)

    def _review_failed(self, error: BaseException) -> None:
        log.error("Loading the link review failed: %s", type(error).__name__)
        self.review_empty.setText(error_text(error, "loading the review"))
        self.review_stack.setCurrentWidget(self.review_empty)

    def show_in_list(self) -> None:
        """Search the list for the selected review item's account."""
        rows = self.review_table.selectionModel().selectedRows()
        item = self.review_model.row_at(rows[0].row()) if rows else None
        if item is None:
            return
        self.state.setCurrentIndex(0)
        self.search.setText(item.account_login or item.account_name)
        self._debounce.stop()
        self.reload()
        self.tabs.setCurrentIndex(0)

    def edit_rules(self) -> ReviewSettingsDialog:
        current = self._review.settings if self._review is not None else ReviewSettings()
        dialog = ReviewSettingsDialog(current, self)
        dialog.accepted.connect(lambda: self._save_rules(dialog.settings()))
        self._open(dialog)
        return dialog

    def _save_rules(self, settings: ReviewSettings) -> None:
        (
            self._links.save_settings(settings, str(uuid.uuid4()))
            .owned_by(self)
            .success(lambda _s: self.reload_review())
            .failure(lambda error: self.message.emit(error_text(error, "saving the rules")))
            .run()
        )

    # ---- exports

    def export_links(self, kind: str) -> None:
        op = (
            self._links.export_links_csv(self.query())
            if kind == "csv"
            else self._links.export_links_pdf(self.query())
        )
        self._export(op, kind, "linked-accounts")

    def export_review(self, kind: str) -> None:
        if self._review is None:
            return
        op = (
            self._links.export_review_csv(self._review)
            if kind == "csv"
            else self._links.export_review_pdf(self._review)
        )
        self._export(op, kind, "linked-accounts-review")

    def _export(self, op: Op[bytes], kind: str, name: str) -> None:
        file_filter = "CSV files (*.csv)" if kind == "csv" else "PDF files (*.pdf)"
        path = self.choose_path(self, f"Export {kind.upper()}", f"{name}.{kind}", file_filter)
        if path is None:
            return
        if path.suffix.lower() != f".{kind}":
            path = path.with_suffix(f".{kind}")
        self.message.emit("Preparing the export\u2026")
        (
            op.owned_by(self)
            .success(lambda data: self._write(path, data))
            .failure(lambda error: self.message.emit(error_text(error, "exporting")))
            .run()
        )

    def _write(self, path: Path, data: bytes) -> None:
        (
            self._ops.save_file(path, data)
            .owned_by(self)
            .success(lambda _n: self.message.emit(f"Saved {path.name}."))
            .failure(lambda _e: self.message.emit(f"Could not save to {path}."))
            .run()
        )
