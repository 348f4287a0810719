"""A desktop notice when patients write: "New portal message", never who or what.

The notice goes through the system tray where the platform has one; where it has none (a
terminal server, the offscreen platform in CI) nothing is shown and nothing fails. The desk's
settings can switch it off.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon

from visitdesk.desktop.ops.messages import MessageOps
from visitdesk.desktop.tasks import Op
from visitdesk.desktop.views.reload import Reload

log = logging.getLogger(__name__)

NOTICE_TITLE = "VisitDesk"
NOTICE_TEXT = "New portal message"
#: Feed kind that carries messages.
MESSAGE_KIND = "thread_message"


class MessageNotifier(QObject):
    """Counts patient messages the feed brings and announces them without PHI."""

    #: A notice was due (emitted whether or not a tray could show it): its text.
    noticed = Signal(str)

    def __init__(self, messages: MessageOps, enabled: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._messages = messages
        self.enabled = enabled
        self._after: int | None = None
        self._count = Reload(self, self._load, self._counted, self._failed)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            app = QApplication.instance()
            style = app.style() if isinstance(app, QApplication) else None
            icon = (
                style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
                if style is not None
                else QIcon()
            )
            self.tray = QSystemTrayIcon(icon, self)
            self.tray.setToolTip("VisitDesk")
            self.tray.setVisible(enabled)
        # Messages already here when the desk starts are not news.
        self._count.request()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if self.tray is not None:
            self.tray.setVisible(enabled)

    def on_sync_changed(self, kinds: set[str]) -> None:
        if MESSAGE_KIND in kinds:
            self._count.request()

    def _load(self) -> Op[tuple[int, int]]:
        # Before the first count, nothing is counted: only the newest key is learnt.
        after = self._after if self._after is not None else 2**62
        return self._messages.new_patient_messages(after)

    def _counted(self, found: tuple[int, int]) -> None:
        newest, count = found
        first = self._after is None
        self._after = newest
        if first or not count or not self.enabled:
            return
        self.noticed.emit(NOTICE_TEXT)
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            self.tray.showMessage(
                NOTICE_TITLE, NOTICE_TEXT, QSystemTrayIcon.MessageIcon.Information, 5000
            )

    def _failed(self, error: BaseException) -> None:
        log.info("Counting new messages failed: %s", type(error).__name__)
