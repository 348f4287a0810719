"""The main window: navigation sidebar, the screens, and a status bar that tells the sync story."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from visitdesk.api.wire import Role
from visitdesk.desktop.about import APP_NAME, AboutDialog
from visitdesk.desktop.idle import IdleWatcher
from visitdesk.desktop.notifier import ArrivalAlerts, DesktopNotices, MessageNotifier
from visitdesk.desktop.ops.desk import (
    AUDIT_ROLES,
    BILLING_ROLES,
    CHECKIN_ROLES,
    CODE_ROLES,
    IMPORT_ROLES,
    LINK_ROLES,
    MESSAGE_ROLES,
    MYINFO_ROLES,
    REGISTRATION_ROLES,
    STAFF_ROLES,
    DeskOps,
)
from visitdesk.desktop.ops.imports import ImportKind
from visitdesk.desktop.sync_bridge import SyncBridge
from visitdesk.desktop.views.audit import AuditView
from visitdesk.desktop.views.checkins import CheckInsView, plain_label
from visitdesk.desktop.views.checkins_table import format_time
from visitdesk.desktop.views.elided_label import ElidedLabel
from visitdesk.desktop.views.import_dialog import ImportDialog
from visitdesk.desktop.views.linked_accounts import LinkedAccountsView
from visitdesk.desktop.views.lock_screen import LockScreen
from visitdesk.desktop.views.messages import MessagesView
from visitdesk.desktop.views.myinfo import MyInfoView
from visitdesk.desktop.views.outbox_dialog import OutboxDialog
from visitdesk.desktop.views.password_dialog import ChangePasswordDialog
from visitdesk.desktop.views.registrations import RegistrationsView
from visitdesk.desktop.views.security_codes import SecurityCodesView
from visitdesk.desktop.views.staff import StaffView
from visitdesk.desktop.views.statements import StatementsView

#: The keys of each screen, as Help shows them (the screens define the shortcuts themselves).
SHORTCUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Check-ins": (
        ("A", "Acknowledge the selected arrival (the patient is told in the chat)"),
        ("R", "Mark the selected patient roomed"),
        ("D", "The selected patient's visit is done"),
        ("C", "Open the selected arrival's chat"),
        ("I", "Check in at the desk (the selected appointment, or a turned-away tap)"),
        ("N", "Mark the selected appointment a no-show (once late)"),
        ("W", "Check in a patient found by search (walk-in)"),
    ),
    "Security codes": (
        ("Ctrl+F", "Find a patient"),
        ("Alt+I", "Issue a code"),
        ("Alt+P", "Print the code slip"),
        ("Alt+S", "Save the slip as PDF"),
        ("Alt+D", "Done with the shown code"),
        ("Alt+R", "Revoke the selected code"),
    ),
    "Registrations": (
        ("Up / Down", "Choose a candidate record"),
        ("Enter", "Confirm the match (asks first)"),
        ("R", "Reject the registration"),
        ("S, Page Down", "Skip to the next registration"),
        ("Page Up", "Back to the previous registration"),
        ("F", "Find the record by search"),
    ),
    "myInfo": (
        ("Up / Down", "Choose a field"),
        ("A", "Accept the selected field"),
        ("R", "Reject the selected field"),
        ("V", "View the card picture of a card field"),
    ),
    "Messages": (
        ("Up / Down", "Choose a thread (it opens, and is marked read)"),
        ("Enter", "Write a reply to the open thread"),
        ("Ctrl+Enter", "Send the reply"),
        ("Escape", "From the reply back to the list"),
        ("Ctrl+T", "Insert a quick text"),
        ("T", "Take the thread"),
        ("A", "Assign the thread to a colleague"),
        ("X", "Close the thread"),
        ("Ctrl+F", "Search every message"),
    ),
}
#: Keys that act for only some of the roles who see their screen (billing watches the board but
#: cannot acknowledge, room or chat): Help lists them to those roles only.
KEY_ROLES: dict[tuple[str, str], frozenset[Role]] = {
    ("Check-ins", "A"): CHECKIN_ROLES,
    ("Check-ins", "R"): CHECKIN_ROLES,
    ("Check-ins", "D"): CHECKIN_ROLES,
    ("Check-ins", "I"): CHECKIN_ROLES,
    ("Check-ins", "N"): CHECKIN_ROLES,
    ("Check-ins", "W"): CHECKIN_ROLES,
    ("Check-ins", "C"): MESSAGE_ROLES,
}
GLOBAL_SHORTCUTS = (("Ctrl+Q", "Quit VisitDesk"),)

ROLE_NAMES = {"front_desk": "Front desk", "billing": "Billing", "manager": "Office manager"}


class MainWindow(QMainWindow):
    """Hosts the screens the signed-in role may use; only finished screens are listed."""

    sign_out_requested = Signal()
    closed = Signal()
    #: The user switched desktop notices for new messages on or off (the app saves it).
    message_notices_changed = Signal(bool)
    #: The user switched a workstation setting of the check-in desk: (Settings field, value).
    desk_setting_changed = Signal(str, bool)

    def __init__(
        self,
        ops: DeskOps,
        bridge: SyncBridge,
        parent: QWidget | None = None,
        *,
        idle_lock_minutes: float = 10,
        message_notices: bool = True,
        arrival_sound: bool = True,
        arrival_notices: bool = True,
        waiting_room_initials: bool = False,
        demo_sign_ins: str = "",
    ) -> None:
        super().__init__(parent)
        self._ops = ops
        self._bridge = bridge
        self._last_status: Any = None
        self._refused = 0  # changes the portal did not accept, awaiting review
        self._dialogs: list[QWidget] = []
        self._demo_sign_ins = demo_sign_ins
        self.help_box: QMessageBox | None = None
        session = ops.session
        practice = session.practice
        self.setWindowTitle(f"VisitDesk \u2014 {practice.name}")
        self.resize(1180, 720)

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(200)
        self.stack = QStackedWidget()

        self.notices = DesktopNotices(self)
        self.checkins = CheckInsView(ops)
        self._add_screen(self.checkins, "Check-ins")
        self.checkins.set_initials_only(waiting_room_initials)
        self.arrival_alerts = ArrivalAlerts(
            self.notices, sound=arrival_sound, notice=arrival_notices, parent=self
        )
        self.checkins.arrivals_came.connect(self.arrival_alerts.arrived)
        self.checkins.waiting_changed.connect(self._on_waiting_changed)
        self.checkins.message.connect(self.show_message)
        bridge.changed.connect(self.checkins.on_sync_changed)
        self.security_codes: SecurityCodesView | None = None
        if session.can(CODE_ROLES):
            self.security_codes = SecurityCodesView(ops)
            self._add_screen(self.security_codes, "Security codes")
            self.security_codes.message.connect(self.show_message)
            bridge.changed.connect(self.security_codes.on_sync_changed)
        self.registrations: RegistrationsView | None = None
        if session.can(REGISTRATION_ROLES):
            self.registrations = RegistrationsView(ops)
            self._add_screen(self.registrations, "Registrations")
            self.registrations.count_changed.connect(self._on_registrations_changed)
            self.registrations.message.connect(self.show_message)
            bridge.changed.connect(self.registrations.on_sync_changed)
        self.myinfo: MyInfoView | None = None
        if session.can(MYINFO_ROLES):
            self.myinfo = MyInfoView(ops)
            self._add_screen(self.myinfo, "myInfo")
            self.myinfo.count_changed.connect(self._on_myinfo_changed)
            self.myinfo.message.connect(self.show_message)
            bridge.changed.connect(self.myinfo.on_sync_changed)
        self.messages: MessagesView | None = None
        self.notifier: MessageNotifier | None = None
        if session.can(MESSAGE_ROLES):
            inbox = self.messages = MessagesView(ops)
            self._add_screen(inbox, "Messages")
            inbox.message.connect(self.show_message)
            inbox.unread_changed.connect(self._on_unread_changed)
            bridge.changed.connect(inbox.on_sync_changed)
            bridge.status_changed.connect(inbox.on_status)
            bridge.outbox_failed.connect(lambda _item, _text: inbox.on_status(None))
            self.checkins.chat_requested.connect(self.show_thread)
            self.notifier = MessageNotifier(ops.messages, message_notices, self.notices, self)
            bridge.changed.connect(self.notifier.on_sync_changed)
        self.statements: StatementsView | None = None
        if session.can(BILLING_ROLES):
            self.statements = StatementsView(ops)
            self._add_screen(self.statements, "Statements")
            self.statements.message.connect(self.show_message)
            bridge.changed.connect(self.statements.on_sync_changed)
        self.linked_accounts: LinkedAccountsView | None = None
        if session.can(LINK_ROLES):
            self.linked_accounts = LinkedAccountsView(ops)
            self._add_screen(self.linked_accounts, "Linked accounts")
            self.linked_accounts.message.connect(self.show_message)
        self.audit: AuditView | None = None
        if session.can(AUDIT_ROLES):
            self.audit = AuditView(ops)
            self._add_screen(self.audit, "Audit trail")
            self.audit.message.connect(self.show_message)
        self.staff: StaffView | None = None
        if session.can(STAFF_ROLES):
            self.staff = StaffView(ops)
            self._add_screen(self.staff, "Staff")
            self.staff.message.connect(self.show_message)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        # Billing clerks start where their work is, not on a board of arriving patients.
        first = self.stack.indexOf(self.statements) if session.staff.role == "billing" else 0
        self.sidebar.setCurrentRow(max(first, 0))

        self.banner = QFrame()
        self.banner.setObjectName("problemBanner")
        self._banner_text = plain_label()
        self._banner_text.setWordWrap(True)
        review = QPushButton("Review\u2026")
        review.clicked.connect(self.show_outbox)
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.addWidget(self._banner_text, 1)
        banner_layout.addWidget(review)
        self.banner.hide()

        self.auth_banner = QFrame()
        self.auth_banner.setObjectName("problemBanner")
        auth_text = plain_label(
            "The portal ended this session, so nothing is being synced. Sign in again to carry on; "
            "changes made here are kept and sent after you sign in."
        )
        auth_text.setWordWrap(True)
        again = QPushButton("Sign in again\u2026")
        again.clicked.connect(self.sign_out_requested.emit)
        auth_layout = QHBoxLayout(self.auth_banner)
        auth_layout.addWidget(auth_text, 1)
        auth_layout.addWidget(again)
        self.auth_banner.hide()

        who = plain_label(
            f"{session.staff.name}\n{ROLE_NAMES.get(session.staff.role, session.staff.role)}",
            "whoAmI",
        )
        left = QVBoxLayout()
        left.addWidget(plain_label(practice.name, "practiceName"))
        left.addWidget(self.sidebar, 1)
        left.addWidget(who)
        right = QVBoxLayout()
        right.addWidget(self.auth_banner)
        right.addWidget(self.banner)
        right.addWidget(self.stack, 1)
        self.body = QWidget()
        body = QHBoxLayout(self.body)
        body.addLayout(left)
        body.addLayout(right, 1)
        self.lock_screen = LockScreen(session.staff.name)
        self.lock_screen.unlock_requested.connect(self._try_unlock)
        self.lock_screen.sign_out_requested.connect(self.sign_out_requested.emit)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.body)
        self.pages.addWidget(self.lock_screen)
        self.setCentralWidget(self.pages)
        self._hidden_dialogs: list[QWidget] = []
        self.idle = IdleWatcher(idle_lock_minutes, self)
        self.idle.idle.connect(self.lock)

        # Never squeezed to slivers by a wide screen: each keeps its shortest useful words and
        # ends in "…" (whole text as a tooltip) when the window is narrow.
        self.online_label = ElidedLabel(
            "Connecting\u2026", "onlineState", minimum_text="\u25cf Offline"
        )
        self.sync_label = ElidedLabel("", minimum_text="Last synced just now")
        self.outbox_label = ElidedLabel("", "outboxState", minimum_text="All changes sent")
        status = self.statusBar()
        status.addPermanentWidget(self.outbox_label)
        status.addPermanentWidget(self.sync_label)
        status.addPermanentWidget(self.online_label)

        self._build_menus()
        bridge.status_changed.connect(self.on_status)
        bridge.outbox_failed.connect(self._on_outbox_failed)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(lambda: self.on_status(self._last_status))
        self._clock.start()
        self._refresh_failures()

    # ---- layout helpers

    def _add_screen(self, widget: QWidget, title: str) -> None:
        self.stack.addWidget(widget)
        item = QListWidgetItem(title)
        item.setData(Qt.ItemDataRole.UserRole, title)
        self.sidebar.addItem(item)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        if self._ops.session.can(IMPORT_ROLES):
            patients = QAction("Import &patients from CSV\u2026", self)
            patients.triggered.connect(lambda: self._choose_import("patients"))
            appointments = QAction("Import &appointments from CSV\u2026", self)
            appointments.triggered.connect(lambda: self._choose_import("appointments"))
            file_menu.addAction(patients)
            file_menu.addAction(appointments)
            file_menu.addSeparator()
        if self._ops.session.can(BILLING_ROLES):
            ledger = QAction("Import &ledger from CSV\u2026", self)
            ledger.triggered.connect(lambda: self._choose_import("ledger lines"))
            file_menu.addAction(ledger)
            file_menu.addSeparator()
        self.change_password_action = QAction("Change my pass&word\u2026", self)
        self.change_password_action.triggered.connect(self.show_change_password)
        file_menu.addAction(self.change_password_action)
        sign_out = QAction("Sign &out", self)
        sign_out.triggered.connect(self.sign_out_requested.emit)
        file_menu.addAction(sign_out)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        sync_menu = menu.addMenu("&Sync")
        unsent = QAction("Changes the portal did &not accept\u2026", self)
        unsent.triggered.connect(self.show_outbox)
        sync_menu.addAction(unsent)
        self.notices_action: QAction | None = None
        if self.notifier is not None:
            notices = QAction("Desktop &notices for new messages", self)
            notices.setCheckable(True)
            notices.setChecked(self.notifier.enabled)
            notices.toggled.connect(self._notices_toggled)
            self.notices_action = notices
            sync_menu.addAction(notices)

        self._build_checkin_menu(menu.addMenu("&Check-ins"))

        help_menu = menu.addMenu("&Help")
        keys = QAction("&Keyboard shortcuts\u2026", self)
        keys.triggered.connect(self.show_shortcuts)
        help_menu.addAction(keys)
        if self._demo_sign_ins:
            demo = QAction("&Demo sign-in details\u2026", self)
            demo.triggered.connect(self.show_demo_sign_ins)
            help_menu.addAction(demo)
        self._add_about_action(help_menu)

    def _build_checkin_menu(self, checkin_menu: QMenu) -> None:
        """The check-in desk's workstation settings; each says once if this workstation cannot
        give it (no sound output, no system tray), and the app runs on without it."""
        alerts = self.arrival_alerts
        sound = QAction("&Sound on each arrival", self)
        sound.setCheckable(True)
        sound.setChecked(alerts.sound)
        sound.toggled.connect(lambda on: self._desk_setting("arrival_sound", on))
        if not alerts.can_sound:
            sound.setText("&Sound on each arrival (this workstation has no sound output)")
            sound.setEnabled(False)
        notice = QAction("Desktop &notice on each arrival", self)
        notice.setCheckable(True)
        notice.setChecked(alerts.notice)
        notice.toggled.connect(lambda on: self._desk_setting("arrival_notices", on))
        if not self.notices.available:
            notice.setText("Desktop &notice on each arrival (this workstation has no system tray)")
            notice.setEnabled(False)
        initials = QAction("Waiting-room display shows &initials only", self)
        initials.setCheckable(True)
        initials.setChecked(self.checkins.initials_only)
        initials.toggled.connect(lambda on: self._desk_setting("waiting_room_initials", on))
        display = QAction("Open the &waiting-room display", self)
        display.triggered.connect(self.checkins.open_waiting_room)
        self.arrival_sound_action, self.arrival_notice_action = sound, notice
        self.initials_action = initials
        for action in (sound, notice, initials):
            checkin_menu.addAction(action)
        checkin_menu.addSeparator()
        checkin_menu.addAction(display)

    def _desk_setting(self, name: str, enabled: bool) -> None:
        if name == "arrival_sound":
            self.arrival_alerts.set_sound(enabled)
        elif name == "arrival_notices":
            self.arrival_alerts.set_notice(enabled)
        elif name == "waiting_room_initials":
            self.checkins.set_initials_only(enabled)
        self.desk_setting_changed.emit(name, enabled)

    def _notices_toggled(self, enabled: bool) -> None:
        if self.notifier is not None:
            self.notifier.set_enabled(enabled)
        self.message_notices_changed.emit(enabled)

    def _help(self, title: str, text: str) -> QMessageBox:
        if self.help_box is not None:
            self.help_box.close()
        box = QMessageBox(QMessageBox.Icon.Information, title, text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: setattr(self, "help_box", None))
        self.help_box = box
        box.open()
        return box

    def show_shortcuts(self) -> QMessageBox:
        screens = [
            self.sidebar.item(n).data(Qt.ItemDataRole.UserRole) for n in range(self.sidebar.count())
        ]
        lines: list[str] = []
        for screen in screens:
            usable = [
                (keys, what)
                for keys, what in SHORTCUTS.get(screen, ())
                if (screen, keys) not in KEY_ROLES or self._ops.session.can(KEY_ROLES[screen, keys])
            ]
            if not usable:
                continue
            lines.append(screen)
            lines.extend(f"  {keys} \u2014 {what}" for keys, what in usable)
            lines.append("")
        lines.extend(f"{keys} \u2014 {what}" for keys, what in GLOBAL_SHORTCUTS)
        return self._help("Keyboard shortcuts", "\n".join(lines))

    def show_change_password(self) -> ChangePasswordDialog:
        dialog = ChangePasswordDialog(self._ops.staff, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.show_message(
                "Your password was changed. Sign in with the new one from now on; your other "
                "sessions have ended."
            )
        )
        dialog.open()
        return dialog

    def show_demo_sign_ins(self) -> QMessageBox:
        return self._help(
            "Demo sign-in details",
            "This demo practice is made up and removed when the demo stops.\n\n"
            + self._demo_sign_ins,
        )

    def _add_about_action(self, help_menu: QMenu) -> None:
        """Help ▸ About VisitDesk, last in the Help menu (the application menu on macOS)."""
        help_menu.addSeparator()
        self.about_action = QAction(f"&About {APP_NAME}", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def show_about(self) -> AboutDialog:
        session = self._ops.session
        portal = session.portal_url or "not connected"
        dialog = AboutDialog(portal, session.practice.name, session.practice.code, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # ---- status

    def on_status(self, status: Any) -> None:
        if status is None:
            return
        self._last_status = status
        self.auth_banner.setVisible(bool(status.auth_needed))
        if status.auth_needed:
            self.online_label.setText("\u25cf Signed out by the portal \u2014 sign in again")
            self.online_label.setProperty("state", "offline")
        elif status.online:
            self.online_label.setText("\u25cf Online")
            self.online_label.setProperty("state", "online")
        elif status.online is None:
            self.online_label.setText("\u25cf Connecting\u2026")
            self.online_label.setProperty("state", "unknown")
        else:
            self.online_label.setText("\u25cf Offline \u2014 changes are kept and sent later")
            self.online_label.setProperty("state", "offline")
        self.online_label.style().unpolish(self.online_label)
        self.online_label.style().polish(self.online_label)
        self.sync_label.setText(sync_words(status, self._ops.session.zone))
        self._show_outbox_state()

    def _show_outbox_state(self) -> None:
        """What became of the changes made here: sent, waiting, or refused (never "all sent"
        while one is refused or while offline with some still waiting)."""
        status = self._last_status
        pending = status.outbox_pending if status is not None else 0
        parts = []
        if self._refused:
            parts.append(f"{_changes(self._refused)} not accepted by the portal")
        if pending:
            parts.append(f"{_changes(pending)} waiting to be sent")
        problem = status.store_problem if status is not None else None
        if problem:
            # Said for as long as it lasts: otherwise "Online" hides that nothing is moving.
            parts.append(f"Cannot save changes: {problem}; VisitDesk keeps trying")
        if not parts:
            parts.append("All changes sent" if status is not None else "")
        self.outbox_label.setText(" \u00b7 ".join(parts))
        self.outbox_label.setProperty("state", "stalled" if problem else "")
        self.outbox_label.style().unpolish(self.outbox_label)
        self.outbox_label.style().polish(self.outbox_label)

    def settings_changed(self) -> None:
        """Settings were saved outside the screens (the demo's day-one set-up): show them."""
        if self.statements is not None:
            self.statements.reload_settings()

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 15_000)

    def _on_waiting_changed(self, waiting: int) -> None:
        item = self.sidebar.item(0)
        if item is not None:
            item.setText("Check-ins" if waiting == 0 else f"Check-ins  ({waiting} waiting)")

    def _on_registrations_changed(self, waiting: int) -> None:
        self._set_count("Registrations", waiting)

    def _on_myinfo_changed(self, waiting: int) -> None:
        self._set_count("myInfo", waiting)

    def _on_unread_changed(self, unread: int) -> None:
        self._set_count("Messages", unread)

    def _set_count(self, title: str, count: int) -> None:
        for row in range(self.sidebar.count()):
            item = self.sidebar.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == title:
                item.setText(title if count == 0 else f"{title}  ({count})")

    def show_screen(self, widget: QWidget) -> None:
        self.sidebar.setCurrentRow(self.stack.indexOf(widget))

    def show_thread(self, thread_id: str) -> None:
        """Switch to the Messages screen with `thread_id` open (the board's C key)."""
        if self.messages is None:
            return
        self.show_screen(self.messages)
        self.messages.open_thread(thread_id)

    # ---- locking

    @property
    def locked(self) -> bool:
        return self.pages.currentWidget() is self.lock_screen

    def lock(self) -> None:
        """Cover everything that may show a patient until the password is typed again."""
        if self.locked:
            return
        self._hidden_dialogs = [d for d in self.findChildren(QDialog) if d.isVisible()]
        for dialog in self._hidden_dialogs:
            dialog.hide()
        self.menuBar().setEnabled(False)
        self.pages.setCurrentWidget(self.lock_screen)
        self.lock_screen.reset()

    def unlock(self) -> None:
        self.pages.setCurrentWidget(self.body)
        self.menuBar().setEnabled(True)
        for dialog in self._hidden_dialogs:
            dialog.show()
        self._hidden_dialogs = []
        self.idle.reset()

    def _try_unlock(self, password: str) -> None:
        (
            self._ops.session.check_password(password)
            .owned_by(self)
            .success(self._unlock_checked)
            .failure(self._unlock_failed)
            .run()
        )

    def _unlock_checked(self, ok: bool) -> None:
        if ok:
            self.unlock()
        else:
            self.lock_screen.set_busy(False)
            self.lock_screen.show_error("That is not the password of this account.")

    def _unlock_failed(self, error: BaseException) -> None:
        self.lock_screen.set_busy(False)
        message = getattr(error, "user_message", "The password could not be checked.")
        self.lock_screen.show_error(f"{message} You can also sign out.")

    # ---- outbox failures

    def _on_outbox_failed(self, _item: Any, message: str) -> None:
        self.show_message(f"The portal did not accept a change: {message}")
        self._refresh_failures()

    def _refresh_failures(self) -> None:
        self._ops.outbox.failed().owned_by(self).success(self._show_failures).run()

    def _show_failures(self, items: list[Any]) -> None:
        count = self._refused = len(items)
        self._show_outbox_state()
        if count == 0:
            self.banner.hide()
            return
        self._banner_text.setText(
            f"The portal did not accept {count} change{'s' if count != 1 else ''} made here. "
            "Nothing is lost: review to send again or discard."
        )
        self.banner.show()

    def show_outbox(self) -> OutboxDialog:
        dialog = OutboxDialog(self._ops, self)
        dialog.outbox_touched.connect(self._refresh_failures)
        self._bridge.outbox_failed.connect(dialog.reload)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # ---- imports

    def _choose_import(self, what: ImportKind) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, f"Import {what}", str(Path.home()), "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.start_import(what, Path(path))

    def start_import(self, what: ImportKind, path: Path) -> ImportDialog:
        dialog = ImportDialog(self._ops.imports, what, path, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.start()
        return dialog

    def closeEvent(self, event: QCloseEvent) -> None:
        self._clock.stop()
        super().closeEvent(event)
        self.closed.emit()


def _changes(count: int) -> str:
    return f"{count} change{'s' if count != 1 else ''}"


def sync_words(status: Any, zone: tzinfo) -> str:
    """When the desk last heard from the portal, worded for the connection as it is now."""
    if status.last_sync_at is None:
        return "Not synced yet"
    if status.online and not status.auth_needed:
        return f"Last synced {_ago(status.last_sync_at, zone)}"
    # Offline, "just now" would read as up to date: give the time the data is from instead.
    return f"Not synced since {format_time(status.last_sync_at, zone)}"


def _ago(moment: datetime, zone: tzinfo) -> str:
    seconds = (datetime.now(UTC) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        minutes = int(seconds // 60)
        return f"{minutes} min ago"
    return f"at {format_time(moment, zone)}"
