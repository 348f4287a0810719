"""One thread on the Messages screen: who it is about, the conversation, its attachments, and the
composer (reply, quick texts, take, assign, close).

Every piece of patient text is a plain-text label, bidi-isolated: markup is shown as typed, and a
right-to-left override in a body cannot reorder the name or time shown beside it.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.text import isolate
from visitdesk.api.wire_messages import TOPIC_LABELS, AttachmentOut, Colleague, ThreadStatus
from visitdesk.desktop.models.messages import ReplyState, ThreadDetail, ThreadMessageRow
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.ops.messages import QuickText
from visitdesk.desktop.tasks import Op
from visitdesk.desktop.views.attachment_viewer import (
    AttachmentViewer,
    ask_save,
    save_attachment,
    size_text,
)
from visitdesk.desktop.views.checkins import plain_label
from visitdesk.desktop.views.checkins_table import format_date, format_time
from visitdesk.desktop.views.messages_table import body_text
from visitdesk.sync.store import OutboxItem

log = logging.getLogger(__name__)

STATE_LABELS = {
    ReplyState.SENDING: "Sending\u2026",
    ReplyState.SENT: "Sent",
    ReplyState.FAILED: "Not sent \u2014 see Sync \u25b8 Changes the portal did not accept",
}


class MessageBubble(QFrame):
    """One message: author, time and (for the desk's own reply) its delivery state, then the body."""

    def __init__(self, message: ThreadMessageRow, zone: tzinfo) -> None:
        super().__init__()
        mine = message.author_kind == "staff"
        self.setObjectName("messageStaff" if mine else "messagePatient")
        when = format_time(message.created_at, zone)
        day = format_date(message.created_at.astimezone(zone).date())
        meta = f"{isolate(message.author_name)} \u00b7 {day} {when}"
        if message.state is not None:
            meta += f" \u00b7 {STATE_LABELS[message.state]}"
        self.meta = plain_label(meta, "messageMeta")
        self.body = plain_label(body_text(message.body), "messageBody")
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.meta)
        layout.addWidget(self.body)
        for attachment in message.attachments:
            name = isolate(str(attachment.get("filename", "")))
            size = size_text(int(attachment.get("size", 0)))
            layout.addWidget(plain_label(f"Attachment: {name} ({size})", "messageAttachment"))
        if message.state is ReplyState.FAILED:
            self.setProperty("state", "failed")


class ThreadPane(QWidget):
    """The open thread; empty (with a reason) until one is chosen."""

    message = Signal(str)
    #: The thread changed here (reply, assignment, close): the list and counts should reload.
    changed = Signal()

    def __init__(self, ops: DeskOps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ops = ops
        self.detail: ThreadDetail | None = None
        self._texts: list[QuickText] = []
        self._colleagues: list[Colleague] = []

        self.title = plain_label("", "threadPatient")
        self.facts = plain_label("", "threadFacts")
        self.facts.setWordWrap(True)

        self._bubbles = QVBoxLayout()
        self._bubbles.setContentsMargins(4, 4, 4, 4)
        self._bubbles.addStretch(1)
        holder = QWidget()
        holder.setLayout(self._bubbles)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(holder)

        self.attachments = QListWidget()
        self.attachments.setMaximumHeight(70)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show the attachment in VisitDesk's viewer")
        self.save_button = QPushButton("Save\u2026")
        self.save_button.setToolTip("Save the attachment to a file")
        self.open_button.clicked.connect(self.open_attachment)
        self.save_button.clicked.connect(self.choose_save)
        self.attachments.itemActivated.connect(lambda _item: self.open_attachment())
        files = QHBoxLayout()
        files.addWidget(self.attachments, 1)
        file_buttons = QVBoxLayout()
        file_buttons.addWidget(self.open_button)
        file_buttons.addWidget(self.save_button)
        file_buttons.addStretch(1)
        files.addLayout(file_buttons)
        self.files = QWidget()
        self.files.setLayout(files)
        files.setContentsMargins(0, 0, 0, 0)

        self.composer = QPlainTextEdit()
        self.composer.setPlaceholderText("Write a reply\u2026  (Ctrl+Enter sends)")
        self.composer.setMaximumHeight(110)
        self.composer.setTabChangesFocus(True)
        self.quick_texts = QComboBox()
        self.quick_texts.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.quick_texts.setMinimumContentsLength(8)
        self.quick_texts.setToolTip("Insert a quick text at the cursor (Ctrl+T)")
        self.quick_texts.activated.connect(self._insert_quick_text)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send the reply (Ctrl+Enter)")
        self.send_button.clicked.connect(self.send)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            send = QShortcut(QKeySequence(keys), self.composer)
            send.setContext(Qt.ShortcutContext.WidgetShortcut)
            send.activated.connect(self.send)
        pick = QShortcut(QKeySequence("Ctrl+T"), self)
        pick.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        pick.activated.connect(self._pick_quick_text)

        self.take_button = QPushButton("Take")
        self.take_button.setToolTip("Assign this thread to yourself (T in the list)")
        self.take_button.clicked.connect(self.take)
        self.assignee = QComboBox()
        self.assignee.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.assignee.setMinimumContentsLength(10)
        self.assignee.setToolTip("Colleague to assign this thread to")
        self.assign_button = QPushButton("Assign")
        self.assign_button.setToolTip("Give the thread to the chosen colleague (A in the list)")
        self.assign_button.clicked.connect(self.assign)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close the thread; a patient reply reopens it (X in the list)")
        self.close_button.clicked.connect(self.close_thread)
        actions = QHBoxLayout()
        actions.addWidget(self.take_button)
        actions.addWidget(self.assignee, 1)
        actions.addWidget(self.assign_button)
        compose_row = QHBoxLayout()
        compose_row.addWidget(self.quick_texts, 1)
        compose_row.addWidget(self.close_button)
        compose_row.addWidget(self.send_button)

        self.empty = plain_label("Choose a thread to read it here.", "emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumWidth(290)
        self.content = QWidget()
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        content.addWidget(self.title)
        content.addWidget(self.facts)
        content.addLayout(actions)
        content.addWidget(self.scroll, 1)
        content.addWidget(self.files)
        content.addWidget(self.composer)
        content.addLayout(compose_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.content, 1)
        self.content.hide()
        self.save_dialog: QFileDialog | None = None

    # ---- what the pane shows

    def clear(self, reason: str = "Choose a thread to read it here.") -> None:
        self.detail = None
        self.empty.setText(reason)
        self.content.hide()
        self.empty.show()

    @property
    def thread_id(self) -> str | None:
        return self.detail.id if self.detail is not None else None

    def open(self, thread_id: str) -> None:
        """Load the thread (and mark it read) off the GUI thread."""
        (
            self._ops.messages.open_thread(thread_id)
            .owned_by(self)
            .success(self.show_detail)
            .failure(self._open_failed)
            .run()
        )

    def reload(self) -> None:
        if self.detail is not None:
            self.open(self.detail.id)

    def _open_failed(self, error: BaseException) -> None:
        log.error("Opening a thread failed: %s", type(error).__name__)
        self.clear("This thread is no longer on this workstation.")

    def show_detail(self, detail: ThreadDetail) -> None:
        was = self.detail
        self.detail = detail
        zone = self._ops.session.zone
        name = ", ".join(p for p in (detail.patient_last_name, detail.patient_first_name) if p)
        self.title.setText(isolate(name) if name else "(patient not yet synced)")
        facts = [
            f"DOB {format_date(detail.date_of_birth) or 'unknown'}",
            f"MRN {detail.mrn or 'unknown'}",
            TOPIC_LABELS[detail.topic],
            "Closed" if detail.status is ThreadStatus.CLOSED else "Open",
            f"Assigned to {isolate(detail.assigned_name)}"
            if detail.assigned_name
            else "Unassigned",
        ]
        if detail.subject:
            facts.insert(2, isolate(detail.subject))
        self.facts.setText(" \u00b7 ".join(facts))
        while self._bubbles.count() > 1:
            item = self._bubbles.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for number, message in enumerate(detail.messages):
            self._bubbles.insertWidget(number, MessageBubble(message, zone))
        self.attachments.clear()
        for message in detail.messages:
            for raw in message.attachments:
                attachment = AttachmentOut.model_validate(raw)
                item = QListWidgetItem(
                    f"{isolate(attachment.filename)} \u2014 {size_text(attachment.size)}"
                )
                item.setData(Qt.ItemDataRole.UserRole, attachment)
                self.attachments.addItem(item)
        self.files.setVisible(self.attachments.count() > 0)
        if self.attachments.count():
            self.attachments.setCurrentRow(0)
        self.close_button.setEnabled(detail.status is ThreadStatus.OPEN)
        self.take_button.setEnabled(detail.assigned_staff_id != self._ops.session.staff.id)
        self.empty.hide()
        self.content.show()
        if was is None or was.id != detail.id or len(was.messages) != len(detail.messages):
            bar = self.scroll.verticalScrollBar()
            bar.rangeChanged.connect(self._to_bottom)

    def _to_bottom(self, _low: int, high: int) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.rangeChanged.disconnect(self._to_bottom)
        bar.setValue(high)

    # ---- quick texts and colleagues

    def set_quick_texts(self, texts: list[QuickText]) -> None:
        self._texts = texts
        self.quick_texts.clear()
        self.quick_texts.addItem("Insert a quick text\u2026")
        for text in texts:
            self.quick_texts.addItem(text.title)

    def _pick_quick_text(self) -> None:
        self.quick_texts.setFocus()
        self.quick_texts.showPopup()

    def _insert_quick_text(self, index: int) -> None:
        self.quick_texts.setCurrentIndex(0)
        if index <= 0 or index > len(self._texts) or self.detail is None:
            return
        filled = self._ops.messages.fill(self._texts[index - 1].body, self.detail)
        self.composer.insertPlainText(filled)
        self.composer.setFocus()

    def set_colleagues(self, colleagues: list[Colleague]) -> None:
        self._colleagues = colleagues
        self.assignee.clear()
        self.assignee.addItem("Nobody (back to Unassigned)", None)
        for colleague in colleagues:
            self.assignee.addItem(colleague.name, colleague)
        if colleagues:
            self.assignee.setCurrentIndex(1)

    # ---- actions

    def send(self) -> None:
        body = self.composer.toPlainText()
        if self.detail is None or not body.strip():
            return
        self.send_button.setEnabled(False)
        (
            self._ops.messages.reply(self.detail.id, body)
            .owned_by(self)
            .success(self._sent)
            .failure(self._send_failed)
            .run()
        )

    def _sent(self, _item: object) -> None:
        self.send_button.setEnabled(True)
        self.composer.clear()
        self.reload()
        self.changed.emit()

    def _send_failed(self, error: BaseException) -> None:
        self.send_button.setEnabled(True)
        if isinstance(error, ValueError):
            # The body breaks a rule the portal checks too (length, NUL bytes): say which.
            reason = str(error).splitlines()[-1] if str(error) else "The reply is not valid."
            self.message.emit(f"The reply was not saved: {reason}")
            return
        log.error("Saving a reply failed: %s", type(error).__name__)
        self.message.emit("The reply could not be saved on this workstation; it is still here.")

    def take(self) -> None:
        if self.detail is not None:
            self._act(self._ops.messages.take(self.detail.id), "taken")

    def assign(self) -> None:
        if self.detail is None:
            return
        colleague = self.assignee.currentData()
        self._act(self._ops.messages.assign(self.detail.id, colleague), "assigned")

    def close_thread(self) -> None:
        if self.detail is not None and self.detail.status is ThreadStatus.OPEN:
            self._act(self._ops.messages.close(self.detail.id), "closed")

    def _act(self, op: Op[OutboxItem], what: str) -> None:
        op.owned_by(self).success(lambda _item: self._acted(what)).failure(
            lambda error: self._act_failed(what, error)
        ).run()

    def _acted(self, what: str) -> None:
        self.message.emit(f"Thread {what}.")
        self.reload()
        self.changed.emit()

    def _act_failed(self, what: str, error: BaseException) -> None:
        log.error("A thread action failed: %s", type(error).__name__)
        self.message.emit(f"The thread could not be {what} on this workstation.")

    # ---- attachments

    def selected_attachment(self) -> AttachmentOut | None:
        item = self.attachments.currentItem()
        data = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return data if isinstance(data, AttachmentOut) else None

    def open_attachment(self) -> None:
        attachment = self.selected_attachment()
        if attachment is None or self.detail is None:
            return
        viewer = AttachmentViewer(self._ops, self.detail.id, attachment, self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.message.connect(self.message)
        viewer.show()
        viewer.load()

    def choose_save(self) -> None:
        attachment = self.selected_attachment()
        if attachment is not None:
            self.save_dialog = ask_save(self, attachment.filename, self.save_attachment)

    def save_attachment(self, destination: Path) -> None:
        attachment = self.selected_attachment()
        if attachment is not None and self.detail is not None:
            save_attachment(
                self._ops, self, self.detail.id, attachment, destination, self.message.emit
            )
