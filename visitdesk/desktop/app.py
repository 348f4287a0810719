"""The composition root: builds the store, portal client, sync engine and main window.

`visitdesk [--demo] [--data-dir DIR]`. Nothing else in the desktop package creates long-lived
services; each part gets what it needs from here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import multiprocessing
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import qasync
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from visitdesk.api.heap import settle_garbage_collector
from visitdesk.api.wire import PracticeInfo, StaffInfo
from visitdesk.desktop import self_test
from visitdesk.desktop import session as sessions
from visitdesk.desktop.about import APP_NAME, app_icon, app_version, is_frozen
from visitdesk.desktop.collector import GuiThreadCollector
from visitdesk.desktop.demo import DemoEnvironment, prepare_demo_desk, start_demo
from visitdesk.desktop.main_window import MainWindow
from visitdesk.desktop.models.store import LocalStore, default_data_dir
from visitdesk.desktop.ops.audit import AuditOps
from visitdesk.desktop.ops.billing import BillingOps
from visitdesk.desktop.ops.checkins import CheckInOps
from visitdesk.desktop.ops.codes import CodeOps, PatientOps
from visitdesk.desktop.ops.desk import DeskOps, DeskSession
from visitdesk.desktop.ops.imports import ImportOps
from visitdesk.desktop.ops.links import LinkOps
from visitdesk.desktop.ops.messages import MessageOps
from visitdesk.desktop.ops.myinfo import MyInfoOps
from visitdesk.desktop.ops.outbox import OutboxOps
from visitdesk.desktop.ops.registrations import RegistrationOps
from visitdesk.desktop.ops.staff import StaffOps
from visitdesk.desktop.settings import Settings
from visitdesk.desktop.sync_bridge import SyncBridge
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.desktop.views.sign_in import SignInDialog, SignInRequest
from visitdesk.sync.client import PortalClient
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine

log = logging.getLogger(__name__)


def load_stylesheet() -> str:
    try:
        return resources.files("visitdesk.resources").joinpath("style.qss").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return ""


def configure_logging(data_dir: Path) -> None:
    """Log to a rotating file in the data directory. Log calls never carry PHI or tokens."""
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        logs / "visitdesk.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def build_ops(
    runner: TaskRunner,
    store: LocalStore,
    engine: SyncEngine,
    bridge: SyncBridge,
    staff: StaffInfo,
    practice: PracticeInfo,
    *,
    client: PortalClient | None = None,
    password_checker: Callable[[str], bool] | None = None,
    password_changed: Callable[[str], None] | None = None,
) -> DeskOps:
    """The desk's ops for one signed-in session, each built once, from the session's parts.

    `client` None: a desk without a portal session (benchmarks); portal calls then say offline.
    """
    portal_url = client.base_url if client is not None else ""
    session = DeskSession(runner, staff, practice, password_checker, portal_url)
    staff_name = staff.name
    registrations = RegistrationOps(runner, store, engine)
    # The feed's news reaches the match index without a view in between.
    bridge.changed.connect(registrations.note_changes)
    return DeskOps(
        session=session,
        checkins=CheckInOps(
            runner, store, engine, zone=session.zone, staff_name=staff_name, practice=practice
        ),
        patients=PatientOps(runner, store, engine),
        codes=CodeOps(runner, store, engine, client=client, staff_name=staff_name),
        registrations=registrations,
        myinfo=MyInfoOps(
            runner,
            store,
            engine,
            client=client,
            zone=session.zone,
            now=lambda: datetime.now(UTC),
        ),
        billing=BillingOps(runner, store, engine, staff_name=staff_name, today=session.today),
        imports=ImportOps(runner, store, engine),
        outbox=OutboxOps(runner, store, engine),
        messages=MessageOps(runner, store, engine, staff=staff, practice=practice, client=client),
        links=LinkOps(
            runner,
            client=client,
            practice_name=practice.name,
            staff_name=staff_name,
            zone=session.zone,
            now=lambda: datetime.now(UTC),
        ),
        audit=AuditOps(
            runner,
            store,
            client=client,
            practice_id=practice.id,
            practice_name=practice.name,
            staff_name=staff_name,
            zone=session.zone,
            now=lambda: datetime.now(UTC),
        ),
        staff=StaffOps(runner, client=client, password_changed=password_changed),
        tasks=runner,
    )


def ops_for(
    runner: TaskRunner, opened: sessions.OpenSession, engine: SyncEngine, bridge: SyncBridge
) -> DeskOps:
    """`build_ops` for a signed-in session."""
    return build_ops(
        runner,
        opened.store,
        engine,
        bridge,
        opened.staff,
        opened.practice,
        client=opened.client,
        password_checker=opened.unlock,
        password_changed=opened.remember_password,
    )


@dataclass
class Running:
    """The parts of one signed-in session, kept together so they can be torn down in order."""

    session: sessions.OpenSession
    engine: SyncEngine
    bridge: SyncBridge
    ops: DeskOps
    window: MainWindow


class VisitDeskApp(QObject):
    """Owns the application's life: demo start-up, sign-in, the signed-in session, shutdown."""

    def __init__(
        self,
        data_dir: Path,
        runner: TaskRunner,
        *,
        demo: bool = False,
        demo_patients: int = 5000,
        demo_interval: float = 8.0,
        demo_role: str = "front_desk",
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.runner = runner
        self.settings = Settings.load(data_dir)
        self.demo_wanted = demo
        self.demo_patients = demo_patients
        self.demo_interval = demo_interval
        self.demo_role = demo_role
        self.demo: DemoEnvironment | None = None
        self.running: Running | None = None
        self.sign_in_dialog: SignInDialog | None = None
        self.splash: QLabel | None = None
        self.finished: asyncio.Future[int] | None = None
        self._closing = False

    # ---- start-up

    def start(self) -> None:
        if self.demo_wanted:
            self._show_splash("Starting the demo portal and seeding a practice\u2026")
            (
                self.runner.op(start_demo, self.demo_patients, True, self.demo_interval)
                .success(self._demo_started)
                .failure(self._demo_failed)
                .run()
            )
            return
        self._show_splash("Signing in\u2026")
        self.runner.op(sessions.resume, self.data_dir, self.settings).success(
            self._resumed
        ).failure(lambda _error: self._resumed(None)).run()

    def _save_desk_setting(self, name: str, enabled: bool) -> None:
        if name in ("arrival_sound", "arrival_notices", "waiting_room_initials"):
            setattr(self.settings, name, enabled)
            self._save_settings()

    def _save_message_notices(self, enabled: bool) -> None:
        self.settings.message_notices = enabled
        self._save_settings()

    def _save_settings(self) -> None:
        try:
            self.settings.save(self.data_dir)
        except OSError as error:
            log.warning("Settings could not be saved: %s", type(error).__name__)

    def _show_splash(self, text: str) -> None:
        if self.splash is None:
            self.splash = QLabel()
            self.splash.setTextFormat(Qt.TextFormat.PlainText)
            self.splash.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.splash.setWindowTitle("VisitDesk")
            self.splash.resize(420, 140)
        self.splash.setText(text)
        self.splash.show()

    def _hide_splash(self) -> None:
        if self.splash is not None:
            self.splash.hide()
            self.splash.deleteLater()
            self.splash = None

    def _demo_started(self, demo: DemoEnvironment) -> None:
        self.demo = demo
        # On the terminal that started the demo, so the sign-ins are at hand after the idle lock.
        print(
            f"VisitDesk demo (made-up practice, removed when the demo stops)\n"
            f"{demo.sign_in_details()}",
            flush=True,
        )
        username, password = demo.staff_login(self.demo_role)
        self._show_splash("Signing in to the demo practice\u2026")
        (
            self.runner.op(
                sessions.sign_in,
                self.data_dir,
                demo.portal_url,
                demo.practice_code,
                username,
                password,
                demo.ca_file,
                MemoryTokenStore(),
            )
            .success(self.open_session)
            .failure(self._demo_failed)
            .run()
        )

    def _demo_failed(self, error: BaseException) -> None:
        log.error("The demo could not start: %s", type(error).__name__)
        self._hide_splash()
        box = QMessageBox(
            QMessageBox.Icon.Critical, "VisitDesk demo", str(error) or "The demo could not start."
        )
        box.finished.connect(lambda _r: self.quit())
        box.open()
        self._error_box = box

    def _resumed(self, opened: sessions.OpenSession | None) -> None:
        self._hide_splash()
        if opened is not None:
            self.open_session(opened)
        else:
            self.show_sign_in()

    def show_sign_in(self, notice: str = "") -> SignInDialog:
        def sign_in(request: SignInRequest) -> sessions.OpenSession:
            return sessions.sign_in(
                self.data_dir,
                request.portal_url,
                request.practice,
                request.username,
                request.password,
                request.ca_file,
                new_password=request.new_password,
            )

        dialog = SignInDialog(self.runner, sign_in, self.settings, notice)
        dialog.signed_in.connect(self.open_session)
        dialog.rejected.connect(self._sign_in_cancelled)
        dialog.show()
        self.sign_in_dialog = dialog
        return dialog

    def _sign_in_cancelled(self) -> None:
        if self.running is None:
            self.quit()

    # ---- the signed-in session

    def open_session(self, opened: sessions.OpenSession) -> None:
        self._hide_splash()
        self.sign_in_dialog = None
        if self.demo is None:
            self.settings.portal_url = opened.portal_url
            self.settings.practice_code = opened.practice.code
            self.settings.username = opened.username
            self.settings.role = opened.staff.role.value
            self.settings.ca_file = str(opened.ca_file) if opened.ca_file else ""
            self.settings.save(self.data_dir)
        bridge = SyncBridge()
        engine = SyncEngine(
            opened.client,
            opened.store,
            wait_seconds=self.settings.sync_wait_seconds,
            listener=bridge,
            push_concurrency=self.settings.push_concurrency,
        )
        opened.client.outbox_depth = lambda: engine.status.outbox_pending
        ops = ops_for(self.runner, opened, engine, bridge)
        window = MainWindow(
            ops,
            bridge,
            idle_lock_minutes=self.settings.idle_lock_minutes,
            message_notices=self.settings.message_notices,
            arrival_sound=self.settings.arrival_sound,
            arrival_notices=self.settings.arrival_notices,
            waiting_room_initials=self.settings.waiting_room_initials,
            demo_sign_ins=self.demo.sign_in_details() if self.demo is not None else "",
        )
        window.message_notices_changed.connect(self._save_message_notices)
        window.desk_setting_changed.connect(self._save_desk_setting)
        window.sign_out_requested.connect(self.sign_out)
        window.closed.connect(self.quit)
        self.running = Running(opened, engine, bridge, ops, window)
        if self.demo is not None:
            (
                self.runner.op(
                    prepare_demo_desk,
                    opened.store,
                    opened.practice.name,
                    opened.practice.phone,
                    opened.portal_url,
                )
                .owned_by(window)
                .success(lambda _none: window.settings_changed())
                .run()
            )
        engine.start()
        window.show()
        settle_garbage_collector()
        if opened.keyring_warning:
            window.show_message(opened.keyring_warning)
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "Sign-in not remembered",
                opened.keyring_warning,
                parent=window,
            )
            box.open()

    def close_session(self) -> None:
        running, self.running = self.running, None
        if running is None:
            return
        running.engine.stop()
        running.window.hide()
        running.window.deleteLater()
        running.session.store.close()

    def sign_out(self) -> None:
        running = self.running
        if running is None:
            return
        client = running.session.client
        self.close_session()
        self.runner.op(client.sign_out).run()
        if self.demo is not None:
            self.quit()
            return
        self.show_sign_in("You have signed out.")

    # ---- shutdown

    def quit(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.close_session()
        if self.demo is not None:
            self.demo.stop()
            self.demo = None
        app = QApplication.instance()
        if app is not None:
            app.quit()
        if self.finished is not None and not self.finished.done():
            self.finished.set_result(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visitdesk", description="VisitDesk staff desktop")
    parser.add_argument("--version", action="version", version=f"%(prog)s {app_version()}")
    parser.add_argument(
        "--demo", action="store_true", help="start a seeded local portal and sign in to it"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where settings, logs and the local database live"
    )
    parser.add_argument(
        "--demo-role",
        choices=("front_desk", "billing", "manager"),
        default="front_desk",
        help="which demo staff member signs in",
    )
    parser.add_argument(
        "--demo-patients", type=int, default=5000, help="patients seeded in the demo"
    )
    self_test.add_arguments(parser)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.demo and is_frozen():
        # The installed build carries the desk only; the demo starts the portal service from the
        # Python package, which a clinic workstation does not have.
        parser.error(
            "--demo needs VisitDesk installed from its Python package (pip install visitdesk); "
            "the installed application connects to your practice's portal"
        )
    if args.self_test:
        args.self_test_options = self_test.options_from(args, parser)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    # Statement runs render on worker processes; a frozen (installer) build needs this first.
    multiprocessing.freeze_support()
    args = parse_args(argv)
    if args.self_test:
        return self_test.run_self_test(args.self_test_options)
    data_dir: Path = args.data_dir or default_data_dir()
    throwaway = args.demo and args.data_dir is None
    if throwaway:
        # Each demo run has a new portal, so its local database is of no use afterwards.
        data_dir = Path(tempfile.mkdtemp(prefix="visitdesk-demo-desk-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(data_dir)

    app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(app_version())
    app.setOrganizationName(APP_NAME)
    # Matches the Linux .desktop entry's file name, so the window list shows the right icon.
    app.setDesktopFileName("visitdesk")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    app.setStyleSheet(load_stylesheet())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = GuiThreadCollector()
    collector.start()

    runner = TaskRunner()
    desk = VisitDeskApp(
        data_dir,
        runner,
        demo=args.demo,
        demo_patients=args.demo_patients,
        demo_role=args.demo_role,
    )
    desk.finished = loop.create_future()
    app.aboutToQuit.connect(desk.quit)
    # Ctrl+C or SIGTERM closes the desk (and the demo's portal) cleanly. Python runs signal
    # handlers only between bytecodes, so a slow timer gives it the chance while Qt waits.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, desk.quit))
    wake = QTimer()
    wake.start(300)
    wake.timeout.connect(lambda: None)
    desk.start()
    with loop:
        loop.run_until_complete(desk.finished)
    runner.shutdown(wait=False)
    collector.stop()
    logging.shutdown()
    if throwaway:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
