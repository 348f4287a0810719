"""The waiting-room display, for a second monitor or a TV the patients can see.

It shows who is checked in and waiting, by first name and last initial (or initials only, a
workstation setting), in large type, and nothing else about anyone: no date of birth, no
provider, no times. It follows the board it was opened from.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.models.schedule import ArrivalRow
from visitdesk.desktop.views.checkins_table import CheckInsModel, is_waiting


def _initial(text: str | None) -> str:
    stripped = (text or "").strip()
    return f"{stripped[0].upper()}." if stripped else ""


def display_name(first: str | None, last: str | None, initials_only: bool) -> str:
    """ "Maria G." (or "M. G."): never more of a name than that."""
    if initials_only:
        return " ".join(part for part in (_initial(first), _initial(last)) if part)
    given = (first or "").strip().split(" ")[0]
    return " ".join(part for part in (given, _initial(last)) if part)


class WaitingRoomWindow(QWidget):
    """A window of its own (move it to the second screen, press F11 for full screen)."""

    def __init__(
        self,
        board: CheckInsModel,
        practice_name: str,
        initials_only: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("waitingRoom")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setWindowTitle(f"Waiting room \u2014 {practice_name}")
        self._board = board
        self.initials_only = initials_only
        welcome = QLabel(f"Welcome to {practice_name}")
        welcome.setTextFormat(Qt.TextFormat.PlainText)
        welcome.setObjectName("waitingRoomTitle")
        welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title_font = QFont(welcome.font())
        title_font.setPointSize(30)
        title_font.setBold(True)
        welcome.setFont(title_font)
        self.subtitle = QLabel("Checked in \u2014 please have a seat; we will call you shortly.")
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle_font = QFont(self.subtitle.font())
        subtitle_font.setPointSize(18)
        self.subtitle.setFont(subtitle_font)

        self.names = QListWidget()
        self.names.setObjectName("waitingRoomNames")
        self.names.setFlow(QListView.Flow.TopToBottom)
        self.names.setWrapping(True)
        self.names.setResizeMode(QListView.ResizeMode.Adjust)
        self.names.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.names.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.names.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        names_font = QFont(self.names.font())
        names_font.setPointSize(34)
        self.names.setFont(names_font)
        self.names.setSpacing(12)

        self.footer = QLabel("If your name is not shown, please tell the front desk.")
        self.footer.setTextFormat(Qt.TextFormat.PlainText)
        self.footer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.footer.setFont(subtitle_font)

        self.subtitle.setObjectName("waitingRoomText")
        self.footer.setObjectName("waitingRoomText")
        # Its own look, over the app's stylesheet (which sets the desk's small type): large light
        # type on the practice blue, readable across a waiting room (contrast 8:1).
        self.setStyleSheet(
            "QWidget#waitingRoom { background: #0f4c81; }"
            "QLabel#waitingRoomTitle { color: white; font-size: 44px; font-weight: bold; }"
            "QLabel#waitingRoomText { color: white; font-size: 26px; }"
            "QListWidget#waitingRoomNames { background: #0f4c81; color: white;"
            " font-size: 56px; border: none; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 30)
        layout.addWidget(welcome)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.names, 1)
        layout.addWidget(self.footer)
        board.modelReset.connect(self.refresh)
        self.refresh()

    def set_initials_only(self, initials_only: bool) -> None:
        self.initials_only = initials_only
        self.refresh()

    def shown_names(self) -> list[str]:
        return [self.names.item(i).text() for i in range(self.names.count())]

    def refresh(self) -> None:
        rows: list[ArrivalRow] = [row for row in self._board.rows if is_waiting(row)]
        names = [display_name(r.first_name, r.last_name, self.initials_only) for r in rows]
        names = [name for name in names if name]
        if names == self.shown_names():
            return
        self.names.clear()
        self.names.addItems(names)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_F11:
            self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)
            return
        super().keyPressEvent(event)
