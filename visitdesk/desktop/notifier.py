"""Desktop notices and the arrival sound: "New portal message", "A patient has arrived", never
who or what.

A notice goes through the system tray where the platform has one; where it has none (a terminal
server, the offscreen platform in CI) nothing is shown and nothing fails. The sound is the
system's alert sound, where the workstation has a sound output. The desk's settings switch each
off, and say once when the workstation cannot give it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

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


#: Qt platforms that draw nowhere a person sees or hears (tests, CI, remote rendering).
_HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "minimalegl", "vnc"})
ARRIVAL_TEXT = "A patient has arrived"


class DesktopNotices(QObject):
    """The desk's one tray icon, shared by every kind of notice; shown while any kind is on."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._wanted: dict[str, bool] = {}
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

    @property
    def available(self) -> bool:
        return self.tray is not None and QSystemTrayIcon.supportsMessages()

    def want(self, kind: str, enabled: bool) -> None:
        """Notices of `kind` are on or off; the icon shows while any kind is on."""
        self._wanted[kind] = enabled
        if self.tray is not None:
            self.tray.setVisible(any(self._wanted.values()))

    def show(self, text: str) -> bool:
        """Show a notice (text without PHI); False where the workstation has no tray."""
        if not self.available or self.tray is None:
            return False
        self.tray.showMessage(NOTICE_TITLE, text, QSystemTrayIcon.MessageIcon.Information, 5000)
        return True


def sound_available() -> bool:
    """The workstation can play the alert sound: a real display platform, and on Linux a sound
    card (a terminal server or a locked-down box often has none)."""
    app = QApplication.instance()
    platform = app.platformName() if isinstance(app, QApplication) else ""
    if platform in _HEADLESS_PLATFORMS:
        return False
    if sys.platform.startswith("linux"):
        try:
            cards = Path("/proc/asound/cards").read_text(encoding="ascii", errors="replace")
        except OSError:
            return False
        return "no soundcards" not in cards and bool(cards.strip())
    return True


class ArrivalAlerts(QObject):
    """A sound and a desktop notice ("A patient has arrived", nothing more) on each arrival;
    each switchable, each silently absent where the workstation cannot give it."""

    #: An alert was due: the notice text (emitted whether or not sound or tray could give it).
    alerted = Signal(str)

    def __init__(
        self,
        notices: DesktopNotices,
        *,
        sound: bool,
        notice: bool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._notices = notices
        self.can_sound = sound_available()
        self.sound = sound
        self.notice = notice
        notices.want("arrivals", notice)
        #: How many times the sound was played (the platform's beep gives no other trace).
        self.sounds_played = 0

    def set_sound(self, enabled: bool) -> None:
        self.sound = enabled

    def set_notice(self, enabled: bool) -> None:
        self.notice = enabled
        self._notices.want("arrivals", enabled)

    def arrived(self, count: int) -> None:
        if count <= 0:
            return
        text = ARRIVAL_TEXT if count == 1 else f"{count} patients have arrived"
        if self.sound and self.can_sound:
            QApplication.beep()
            self.sounds_played += 1
        if self.notice:
            self._notices.show(text)
        if self.sound or self.notice:
            self.alerted.emit(text)


class MessageNotifier(QObject):
    """Counts patient messages the feed brings and announces them without PHI."""

    #: A notice was due (emitted whether or not a tray could show it): its text.
    noticed = Signal(str)

    def __init__(
        self,
        messages: MessageOps,
        enabled: bool,
        notices: DesktopNotices | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._messages = messages
        self.enabled = enabled
        self._after: int | None = None
        self._count = Reload(self, self._load, self._counted, self._failed)
        self.notices = notices if notices is not None else DesktopNotices(self)
        self.notices.want("messages", enabled)
        # Messages already here when the desk starts are not news.
        self._count.request()

    @property
    def tray(self) -> QSystemTrayIcon | None:
        return self.notices.tray

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.notices.want("messages", enabled)

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
        self.notices.show(NOTICE_TEXT)

    def _failed(self, error: BaseException) -> None:
        log.info("Counting new messages failed: %s", type(error).__name__)
