"""The Messages screen: the practice's shared inbox of secure messages and I'm Here chats.

Pools on the left (Unassigned, Mine, each topic, Arrivals, Closed) with unread counts taken from
the store, which the change feed keeps current: a thread read on another workstation stops being
unread here within a sync. The list is sorted and filtered in SQL; the open thread is on the right.

Keys in the thread list: Enter writes a reply, T takes the thread, A assigns it, X closes it.
Ctrl+F searches every message; Ctrl+Enter sends from the composer.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire_messages import TOPIC_LABELS, Topic
from visitdesk.desktop.models.messages import (
    LIST_LIMIT,
    TOPIC_POOLS,
    Inbox,
    Pool,
    PoolCount,
    ThreadOrder,
)
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.ops.messages import QuickText
from visitdesk.desktop.tasks import Op
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.messages_table import (
    AGE_COLUMN,
    PATIENT_COLUMN,
    PREVIEW_COLUMN,
    ThreadsModel,
)
from visitdesk.desktop.views.quick_texts import QuickTextEditor
from visitdesk.desktop.views.reload import Reload
from visitdesk.desktop.views.tables import rows_table
from visitdesk.desktop.views.thread_view import ThreadPane

log = logging.getLogger(__name__)

#: Feed kinds that change what the screen shows.
MESSAGE_KINDS = frozenset({"thread", "thread_message", "patient"})
QUICK_TEXTS_KIND = "quick_texts"
#: Pause after the last keystroke before a search runs.
SEARCH_DELAY_MS = 250
#: How often the age column is redrawn.
TICK_MS = 30_000

POOL_LABELS: dict[Pool | Topic, str] = {
    Pool.UNASSIGNED: "Unassigned",
    Pool.MINE: "Mine",
    **{topic: TOPIC_LABELS[topic] for topic in TOPIC_POOLS},
    Pool.ARRIVALS: "Arrivals (I\u2019m Here)",
    Pool.CLOSED: "Closed",
}
EMPTY_POOL: dict[Pool | Topic, str] = {
    Pool.UNASSIGNED: "No open thread waits for someone to take it.\n"
    "New patient messages arrive here.",
    Pool.MINE: "Nothing is assigned to you.\nTake a thread from Unassigned with T.",
    Pool.ARRIVALS: "No open arrival chats.\nA chat begins when a patient taps \u201cI\u2019m Here\u201d.",
    Pool.CLOSED: "No closed threads yet.\nClose a thread with X once it is answered.",
}


def pool_of(item: QListWidgetItem) -> Pool | Topic:
    """The pool a sidebar item stands for (Qt hands the stored enum back as a plain string)."""
    value = str(item.data(Qt.ItemDataRole.UserRole))
    return Pool(value) if value in Pool._value2member_map_ else Topic(value)


class MessagesView(QWidget):
    title = "Messages"
    message = Signal(str)
    #: Unread threads in the open pools, for the main window's sidebar.
    unread_changed = Signal(int)

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self._pool: Pool | Topic = Pool.UNASSIGNED
        self._order = ThreadOrder.ACTIVITY
        self._descending = True
        self._reload = Reload(self, self._load, self._show_inbox, self._load_failed)
        #: The thread the user last chose (kept across reloads, set before it has loaded).
        self._chosen: str | None = None

        self.pools = QListWidget()
        self.pools.setObjectName("messagePools")
        for pool, label in POOL_LABELS.items():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, pool)
            self.pools.addItem(item)
        self.pools.setCurrentRow(0)
        self.pools.currentItemChanged.connect(self._pool_chosen)
        # Sized to its text when shown (see _fit_pools): never a sideways scrollbar.
        self.pools.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.edit_texts_button = QPushButton("Edit quick texts\u2026")
        self.edit_texts_button.setToolTip("Change the practice's quick-text templates")
        self.edit_texts_button.clicked.connect(self.edit_quick_texts)
        self.edit_texts_button.setVisible(ops.messages.may_edit_templates)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.pools, 1)
        left_layout.addWidget(self.edit_texts_button)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search all messages (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self._search_now)
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self._focus_search)
        self.heading = plain_label("", "screenSubtitle")
        self.note = plain_label("", "hint")

        self.model = ThreadsModel(parent=self)
        self.model.order_requested.connect(self._order_chosen)
        self.table = rows_table(self.model, stretch=PREVIEW_COLUMN, keep=(PATIENT_COLUMN,))
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        header.setSortIndicator(AGE_COLUMN, Qt.SortOrder.AscendingOrder)
        # Columns are fitted to the rows on screen, not to all 1,000 a pool may list: measuring
        # every row on each reload costs more than the list itself.
        header.setResizeContentsPrecision(0)
        self.table.selectionModel().selectionChanged.connect(self._thread_chosen)
        self.empty = plain_label("", "emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.empty)
        self._stack.addWidget(self.table)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.search)
        middle_layout.addWidget(self.heading)
        middle_layout.addLayout(self._stack, 1)
        middle_layout.addWidget(self.note)

        self.thread = ThreadPane(ops)
        self.thread.message.connect(self.message)
        self.thread.changed.connect(self.reload)
        for key, action in (
            ("T", self.thread.take),
            ("A", self._focus_assign),
            ("X", self.thread.close_thread),
            ("Return", self._focus_composer),
        ):
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(action)
        back = QShortcut(QKeySequence("Escape"), self.thread.composer)
        back.setContext(Qt.ShortcutContext.WidgetShortcut)
        back.activated.connect(self.table.setFocus)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(middle)
        splitter.addWidget(self.thread)
        # The list gets the spare width: at 1280x800 every column fits without scrolling.
        self._left = left
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([200, 560, 290])
        splitter.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.model.tick)
        self._timer.start()
        self.editor: QuickTextEditor | None = None
        self.reload()
        self.load_quick_texts()
        self.load_colleagues()

    def showEvent(self, event: QShowEvent) -> None:
        self._fit_pools()
        super().showEvent(event)

    def _fit_pools(self) -> None:
        """The pools' width from the font the stylesheet gives them: the longest pool in bold,
        with a two-digit count, fits without a sideways scrollbar (a longer count elides)."""
        self.pools.ensurePolished()
        bold = QFont(self.pools.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        widest = max(metrics.horizontalAdvance(f"{t}  (99)") for t in POOL_LABELS.values())
        self._left.setFixedWidth(widest + 2 * self.pools.frameWidth() + 12)

    # ---- loading

    def on_sync_changed(self, kinds: set[str]) -> None:
        if kinds & MESSAGE_KINDS:
            self.reload()
            self.thread.reload()
        if QUICK_TEXTS_KIND in kinds:  # a manager saved the practice's set on some workstation
            self.load_quick_texts()

    def on_status(self, _status: object) -> None:
        """The outbox moved: a reply shown as sending may now be sent (or failed)."""
        detail = self.thread.detail
        if detail is not None and any(m.state is not None for m in detail.messages):
            self.thread.reload()

    def reload(self) -> None:
        self._reload.request()

    def _load(self) -> Op[Inbox]:
        return self._ops.messages.inbox(
            self._pool, self.search.text(), self._order, self._descending
        )

    def _show_inbox(self, inbox: Inbox) -> None:
        selected = self._chosen or self.selected_id()
        self._show_counts(inbox.counts)
        self.model.set_rows(inbox.threads)
        searching = bool(self.search.text().strip())
        total = next((c.total for c in inbox.counts if c.pool == self._pool), 0)
        if searching:
            self.heading.setText(f"Messages containing \u201c{self.search.text().strip()}\u201d")
            self.empty.setText(
                "No message contains all of those words.\nSearch looks through every thread, "
                "open and closed."
            )
        else:
            self.heading.setText(POOL_LABELS[self._pool])
            self.empty.setText(
                EMPTY_POOL.get(self._pool)
                or f"No open {POOL_LABELS[self._pool].lower()} threads.\n"
                "Patients choose a topic when they write."
            )
        shown = len(inbox.threads)
        self.note.setText(
            f"Showing the newest {LIST_LIMIT:,} of {total:,}; search to find older threads."
            if not searching and total > shown
            else ""
        )
        self._stack.setCurrentWidget(self.table if inbox.threads else self.empty)
        if selected is None or not self.select_id(selected):
            # No current row, so the first Down (or Up) in the list selects the top thread.
            self.table.setCurrentIndex(QModelIndex())

    def _show_counts(self, counts: list[PoolCount]) -> None:
        unread = {c.pool: c.unread for c in counts}
        for row in range(self.pools.count()):
            item = self.pools.item(row)
            pool = pool_of(item)
            count = unread.get(pool, 0)
            label = POOL_LABELS[pool]
            item.setText(f"{label}  ({count})" if count and pool is not Pool.CLOSED else label)
            font = QFont(item.font())
            font.setBold(bool(count) and pool is not Pool.CLOSED)
            item.setFont(font)
        # Closed threads with unread messages are few and not waiting on anyone; the sidebar's
        # figure is the threads someone should read: Unassigned and Mine never overlap.
        self.unread_changed.emit(unread.get(Pool.UNASSIGNED, 0) + unread.get(Pool.MINE, 0))

    def _load_failed(self, error: BaseException) -> None:
        log.error("Loading the inbox failed: %s", type(error).__name__)
        self.message.emit("The messages could not be loaded from the local database.")

    def load_quick_texts(self) -> None:
        self._ops.messages.quick_texts().owned_by(self).success(self._set_quick_texts).run()

    def _set_quick_texts(self, texts: list[QuickText]) -> None:
        self.thread.set_quick_texts(texts)

    def load_colleagues(self) -> None:
        (
            self._ops.messages.colleagues()
            .owned_by(self)
            .success(self.thread.set_colleagues)
            .failure(self._colleagues_failed)
            .run()
        )

    def _colleagues_failed(self, error: BaseException) -> None:
        log.info("Colleagues could not be fetched: %s", type(error).__name__)
        me = self._ops.session.staff
        self.thread.set_colleagues([])
        self.thread.assignee.setToolTip(
            f"The portal could not be reached, so only Take ({me.name}) works until it is."
        )
        QTimer.singleShot(30_000, self, self.load_colleagues)

    # ---- choosing

    def _pool_chosen(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is None:
            return
        self._pool = pool_of(item)
        if self.search.text():
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
        self.reload()

    def show_pool(self, pool: Pool | Topic) -> None:
        for row in range(self.pools.count()):
            if pool_of(self.pools.item(row)) == pool:
                self.pools.setCurrentRow(row)

    def _order_chosen(self, order: ThreadOrder, descending: bool) -> None:
        self._order, self._descending = order, descending
        self.reload()

    def _search_now(self) -> None:
        self._search_timer.stop()
        self.reload()

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _focus_assign(self) -> None:
        self.thread.assignee.setFocus()
        self.thread.assignee.showPopup()

    def _focus_composer(self) -> None:
        if self.thread.detail is not None:
            self.thread.composer.setFocus()

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        row = self.model.row_at(rows[0].row()) if rows else None
        return row.id if row is not None else None

    def select_id(self, thread_id: str) -> bool:
        number = self.model.row_of(thread_id)
        if number < 0:
            return False
        self.table.selectionModel().select(
            self.model.index(number, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.setCurrentIndex(self.model.index(number, 0))
        self.table.scrollTo(self.model.index(number, 0))
        return True

    def _thread_chosen(self, *_: object) -> None:
        thread_id = self.selected_id()
        if thread_id is None:
            return
        if thread_id == self._chosen:
            return  # the same thread after a reload: the feed's notice reloads it already
        self._chosen = thread_id
        self.thread.composer.clear()
        self.thread.open(thread_id)

    def open_thread(self, thread_id: str, pool: Pool | Topic = Pool.ARRIVALS) -> None:
        """Show `thread_id` (the Check-ins board's C key): its pool, selected, open."""
        self._chosen = thread_id
        self.show_pool(pool)
        self.thread.composer.clear()
        self.thread.open(thread_id)
        self.table.setFocus()

    # ---- quick texts

    def edit_quick_texts(self) -> None:
        """Open the editor on the templates as stored now (read off the GUI thread)."""
        self.editor = None
        self._ops.messages.quick_texts().owned_by(self).success(self._open_editor).run()

    def _open_editor(self, texts: list[QuickText]) -> None:
        editor = QuickTextEditor(self._ops, texts, self)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self._set_quick_texts)
        editor.saved.connect(lambda _texts: self.message.emit("Quick texts saved."))
        self.editor = editor
        editor.open()
