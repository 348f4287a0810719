"""A one-line label for places that get squeezed (the status bar): it keeps a readable minimum
width, ends in "…" when it has less room than its text, and then offers the whole text as its
tooltip. Plain text only."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget


class ElidedLabel(QLabel):
    def __init__(
        self,
        text: str = "",
        object_name: str = "",
        *,
        minimum_text: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        if object_name:
            self.setObjectName(object_name)
        #: What must always fit (e.g. "All changes sent"): the label never gets narrower.
        self._minimum_text = minimum_text
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._update_tooltip()

    def minimumSizeHint(self) -> QSize:
        margins = self.contentsMargins()
        extra = margins.left() + margins.right() + 2 * self.margin()
        wanted = self.fontMetrics().horizontalAdvance(self._minimum_text) + extra
        full = super().sizeHint()
        return QSize(min(wanted, full.width()), full.height())

    def shown_text(self) -> str:
        """The text as drawn: whole, or cut to the width with "…"."""
        width = self.contentsRect().width() - 2 * self.margin()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tooltip()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect().adjusted(self.margin(), 0, -self.margin(), 0)
        self.style().drawItemText(
            painter,
            rect,
            int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )
        painter.end()

    def _update_tooltip(self) -> None:
        cut = self.shown_text() != self.text()
        self.setToolTip(self.text() if cut else "")
