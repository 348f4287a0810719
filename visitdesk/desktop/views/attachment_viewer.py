"""The app's own viewer for a message attachment: PDF pages rendered by PDFium, or the picture.

Nothing is handed to another program: a patient's file is never opened by whatever the
workstation associates with its name. Fetching and rendering run off the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.text import isolate
from visitdesk.api.wire_messages import AttachmentOut
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.printing import render_pages
from visitdesk.desktop.views.checkins import plain_label

log = logging.getLogger(__name__)

#: Resolution PDF pages are drawn at for the screen.
VIEW_DPI = 100


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def error_text(error: BaseException, fallback: str) -> str:
    """The portal client's plain-words message for `error`, or `fallback`."""
    return str(getattr(error, "user_message", "") or fallback)


def ask_save(parent: QWidget, filename: str, chosen: Callable[[Path], None]) -> QFileDialog:
    """Ask where to save `filename` without blocking; `chosen(path)` once the user picks one."""
    dialog = QFileDialog(parent, "Save attachment", str(Path.home() / filename))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda path: chosen(Path(path)))
    dialog.open()
    return dialog


def save_attachment(
    ops: DeskOps,
    owner: QObject,
    thread_id: str,
    attachment: AttachmentOut,
    destination: Path,
    report: Callable[[str], None],
) -> None:
    """Stream the attachment into `destination` off the GUI thread; `report` says how it went."""
    (
        ops.messages.save_attachment(thread_id, attachment, destination)
        .owned_by(owner)
        .success(lambda size: report(f"Saved {size_text(size)}."))
        .failure(lambda error: report(error_text(error, "The attachment could not be saved.")))
        .run()
    )


class UnreadableFile(ValueError):
    """The bytes are not a picture Qt can decode (the portal typed them by content, but a file
    may still be damaged)."""


def decode(data: bytes, content_type: str) -> list[QImage]:
    """The pages of an attachment as images (blocking: run off the GUI thread)."""
    if content_type == "application/pdf":
        return render_pages(data, VIEW_DPI)
    image = QImage.fromData(data)
    if image.isNull():
        raise UnreadableFile("This picture could not be read; save it to look at it elsewhere.")
    return [image]


class AttachmentViewer(QDialog):
    message = Signal(str)

    def __init__(
        self,
        ops: DeskOps,
        thread_id: str,
        attachment: AttachmentOut,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ops = ops
        self._thread_id = thread_id
        self.attachment = attachment
        self.setWindowTitle(f"{attachment.filename} \u2014 VisitDesk")
        self.resize(760, 700)
        self.status = plain_label(
            f"Fetching {isolate(attachment.filename)} ({size_text(attachment.size)})\u2026"
        )
        self._pages = QVBoxLayout()
        self._pages.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        holder = QWidget()
        holder.setLayout(self._pages)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        self.save_button = QPushButton("Save\u2026")
        self.save_button.clicked.connect(self.choose_save)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.page_labels: list[QLabel] = []
        self.save_dialog: QFileDialog | None = None

    def load(self) -> None:
        kind = self.attachment.content_type
        (
            self._ops.messages.fetch_attachment(self._thread_id, self.attachment)
            .owned_by(self)
            .success(
                lambda data: (
                    self._ops.tasks.op(decode, data, kind)
                    .owned_by(self)
                    .success(self._show)
                    .failure(self._failed)
                    .run()
                )
            )
            .failure(self._failed)
            .run()
        )

    def _show(self, images: list[QImage]) -> None:
        for image in images:
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(image))
            self._pages.addWidget(label)
            self.page_labels.append(label)
        count = len(images)
        pages = f"{count} page{'s' if count != 1 else ''}" if count > 1 else ""
        self.status.setText(
            " \u00b7 ".join(p for p in (isolate(self.attachment.filename), pages) if p)
        )

    def _failed(self, error: BaseException) -> None:
        log.info("An attachment could not be shown: %s", type(error).__name__)
        text = str(error) if isinstance(error, UnreadableFile) else ""
        self.status.setText(text or error_text(error, "The attachment could not be shown."))

    def choose_save(self) -> None:
        self.save_dialog = ask_save(self, self.attachment.filename, self.save)

    def save(self, destination: Path) -> None:
        save_attachment(
            self._ops, self, self._thread_id, self.attachment, destination, self.message.emit
        )
