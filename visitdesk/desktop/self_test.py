"""`visitdesk --self-test`: prove an installed build has every part it needs, against a real portal.

A frozen (PyInstaller) build fails at the first import, plugin or data file the spec forgot, and
only when that code path runs. The self-test runs the paths a working day needs, headless, and says
what it did: Qt on the offscreen platform with the image formats and print support, the keyring
backends, the local store's migrations (into a temporary data directory), sign-in over TLS with the
portal's CA, a full sync, the main window and the About box, one statement rendered and printed to
PDF, and a statement run on a worker process. It exits 0 when all of that worked, and otherwise
prints one plain line saying which step failed and why, and exits 1 (2 when over its time limit).

Nothing is written outside the temporary directory: the refresh token stays in memory (the real
keyring is only inspected), and the statement settings filled in for the test die with the store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO, TypeVar

import keyring
import pypdfium2
from PySide6.QtGui import QGuiApplication, QImageReader, QPageSize
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from visitdesk.desktop import session as sessions
from visitdesk.desktop.about import APP_NAME, app_icon, app_version, is_frozen
from visitdesk.desktop.main_window import MainWindow
from visitdesk.desktop.models import billing
from visitdesk.desktop.models.migrate import current_revision, head_revision
from visitdesk.desktop.models.schema import Appointment, Patient
from visitdesk.desktop.ops import statement_run
from visitdesk.desktop.ops.desk import practice_zone
from visitdesk.desktop.printing import paint_pages, render_pages
from visitdesk.desktop.sync_bridge import SyncBridge
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.reports import fonts
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine

T = TypeVar("T")

#: The environment variable the password is read from unless --password-file is given.
PASSWORD_ENV = "VISITDESK_SELF_TEST_PASSWORD"  # noqa: S105 - a variable name, not a secret
DEFAULT_TIME_LIMIT_S = 120.0
#: Image formats the desk or Qt's own dialogs load through plugins; PNG is built into QtGui.
PLUGIN_IMAGE_FORMATS = ("svg", "ico", "jpeg", "gif")
#: The keyring backend module each platform's sign-in relies on.
NATIVE_KEYRING = {
    "win32": "keyring.backends.Windows",
    "darwin": "keyring.backends.macOS",
    "linux": "keyring.backends.SecretService",
}


class SelfTestFailed(Exception):
    """A check found something missing or wrong; the message says what, in plain words."""


@dataclass(frozen=True)
class SelfTestOptions:
    portal_url: str
    ca_file: Path | None
    practice: str
    username: str
    password: str
    time_limit: float = DEFAULT_TIME_LIMIT_S
    report: Path | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "self-test", "check an installed build against a portal, headless, then exit"
    )
    group.add_argument("--self-test", action="store_true", help="run the self-test and exit")
    group.add_argument("--portal", metavar="URL", help="the portal address (https://...)")
    group.add_argument("--ca-file", type=Path, help="the portal's CA certificate (PEM)")
    group.add_argument("--practice", help="practice code")
    group.add_argument("--username", help="a staff username of that practice")
    group.add_argument(
        "--password-file",
        type=Path,
        help=f"file holding the password (otherwise ${PASSWORD_ENV} is read)",
    )
    group.add_argument(
        "--report",
        type=Path,
        help="also write the report to this file (a windowed build has no console to print to)",
    )
    group.add_argument(
        "--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, help="seconds (default 120)"
    )


def options_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> SelfTestOptions:
    """Check the self-test's arguments; a missing one ends the program with argparse's message."""
    missing = [
        flag
        for flag, value in (
            ("--portal", args.portal),
            ("--practice", args.practice),
            ("--username", args.username),
        )
        if not value
    ]
    if missing:
        parser.error(f"--self-test needs {', '.join(missing)}")
    if args.password_file is not None:
        try:
            password = args.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            parser.error(f"cannot read the password file: {exc.strerror or exc}")
    else:
        password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        parser.error(f"--self-test needs a password in ${PASSWORD_ENV} or --password-file")
    return SelfTestOptions(
        args.portal,
        args.ca_file,
        args.practice,
        args.username,
        password,
        args.time_limit,
        args.report,
    )


class SelfTest:
    """Runs the checks in order on the qasync loop; blocking work goes through the TaskRunner."""

    def __init__(self, options: SelfTestOptions, data_dir: Path, out: _Report) -> None:
        self.options = options
        self.data_dir = data_dir
        self.out = out
        self.runner = TaskRunner()
        self.opened: sessions.OpenSession | None = None
        self.window: MainWindow | None = None
        self.engine: SyncEngine | None = None

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def step(self, name: str, check: Callable[[], Any]) -> None:
        started = time.perf_counter()
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
        except SelfTestFailed as exc:
            raise SelfTestFailed(f"{name}: {exc}") from exc
        except Exception as exc:
            raise SelfTestFailed(f"{name}: {type(exc).__name__}: {exc}") from exc
        self.say(f"ok   {name:<22} {time.perf_counter() - started:6.2f} s  {result}")

    async def off_gui(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.runner.run_async(fn, *args, **kwargs)

    async def run(self) -> None:
        build = "frozen build" if is_frozen() else "Python package"
        self.say(f"{APP_NAME} {app_version()} self-test ({build}, {platform.platform()})")
        await self.step("Qt", self.check_qt)
        await self.step("keyring", self.check_keyring)
        await self.step("sign-in and migrations", self.sign_in)
        await self.step("sync", self.sync)
        await self.step("main window", self.open_window)
        await self.step("statement", self.statement)
        await self.step("statement run", self.statement_run)
        await self.step("sign-out", self.sign_out)

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
        self.runner.shutdown(wait=True)
        if self.opened is not None:
            self.opened.client.close()
            self.opened.store.close()

    # ---- the checks; each returns what it found, for the report

    def check_qt(self) -> str:
        platform_name = QGuiApplication.platformName()
        if platform_name != "offscreen":
            raise SelfTestFailed(f"running on the {platform_name!r} platform, not offscreen")
        formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
        missing = [name for name in PLUGIN_IMAGE_FORMATS if name not in formats]
        if missing:
            raise SelfTestFailed(f"no image format plugin for {', '.join(missing)}")
        icon = app_icon()
        if icon.isNull() or len(icon.availableSizes()) < 3:
            raise SelfTestFailed("the application icon files are missing")
        if not QApplication.instance().styleSheet():  # type: ignore[union-attr]
            raise SelfTestFailed("the stylesheet (resources/style.qss) is missing")
        return f"offscreen; image formats {', '.join(sorted(formats))}"

    def check_keyring(self) -> str:
        found = {entry.name for entry in metadata.entry_points(group="keyring.backends")}
        if not found:
            raise SelfTestFailed("keyring's backends are not registered (entry points missing)")
        native = next((m for p, m in NATIVE_KEYRING.items() if sys.platform.startswith(p)), None)
        if native is not None:
            __import__(native)
        backend = keyring.get_keyring()
        kind = f"{type(backend).__module__}.{type(backend).__name__}"
        return f"backends {', '.join(sorted(found))}; this session would use {kind}"

    async def sign_in(self) -> str:
        o = self.options
        self.opened = await self.off_gui(
            sessions.sign_in,
            self.data_dir,
            o.portal_url,
            o.practice,
            o.username,
            o.password,
            o.ca_file,
            MemoryTokenStore(),
        )
        path = self.opened.store.path
        revision = current_revision(path)
        if revision != head_revision():
            raise SelfTestFailed(f"the local store is at {revision}, not {head_revision()}")
        staff = self.opened.staff
        return f"{staff.role} at {self.opened.practice.code}; local store at revision {revision}"

    async def sync(self) -> str:
        opened = self._opened()
        self.engine = SyncEngine(opened.client, opened.store)
        await self.off_gui(self.engine.pull_once)

        def counts() -> tuple[int, int, int]:
            with opened.store.read() as session:
                return (
                    session.scalar(select(func.count()).select_from(Patient)) or 0,
                    session.scalar(select(func.count()).select_from(Appointment)) or 0,
                    session.scalar(select(func.count()).select_from(billing.LedgerLine)) or 0,
                )

        patients, appointments, lines = await self.off_gui(counts)
        if patients == 0:
            raise SelfTestFailed("the portal sent no patients")
        return f"{patients} patients, {appointments} appointments, {lines} ledger lines"

    def open_window(self) -> str:
        opened = self._opened()
        bridge = SyncBridge()
        ops = _composition().ops_for(self.runner, opened, self._engine(), bridge)
        self.window = MainWindow(ops, bridge)
        self.window.setWindowIcon(app_icon())
        self.window.resize(1280, 800)
        self.window.show()
        shot = self.window.grab()
        if shot.isNull() or shot.width() < 100:
            raise SelfTestFailed("the main window did not paint")
        about = self.window.show_about()
        text = f"{about.title.text()} {about.portal.text()}"
        about.close()
        if app_version() not in text or opened.portal_url.rstrip("/") not in text:
            raise SelfTestFailed("the About box does not show the version and the portal")
        screens = self.window.sidebar.count()
        return f"{screens} screens; About shows {app_version()} and the portal"

    async def statement(self) -> str:
        opened = self._opened()
        store = opened.store
        today = _today(opened)
        # Patient text the standard PDF fonts cannot print needs the fonts shipped in resources/.
        embedded = await self.off_gui(fonts.register)
        await self.off_gui(_fill_statement_settings, store, opened)
        account = await self.off_gui(_first_account, store, today)
        made = await self.off_gui(
            statement_run.statement_for_patient, store, account, today, opened.staff.name
        )
        pages = await self.off_gui(render_pages, made.pdf, 50)
        if not pages or pages[0].isNull():
            raise SelfTestFailed("the statement PDF could not be rendered back to an image")
        printed = self.data_dir / "printed-statement.pdf"
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.Letter))
        paint_pages(printer, pages)
        size = printed.stat().st_size if printed.exists() else 0
        if size == 0:
            raise SelfTestFailed("printing to a PDF file produced nothing")
        return (
            f"{len(pages)} page(s), {len(made.pdf):,} bytes (reportlab; fonts "
            f"{', '.join(embedded)}); rendered by PDFium "
            f"{str(pypdfium2.PDFIUM_INFO.version).split('@')[0]}; printed through Qt ({size:,} bytes)"
        )

    async def statement_run(self) -> str:
        opened = self._opened()
        today = _today(opened)
        result = await self.off_gui(
            statement_run.generate_run,
            opened.store,
            filters=billing.StatementFilters(min_days_since_last=None),
            statement_date=today,
            staff_name=opened.staff.name,
            processes=1,
        )
        return f"{result.statement_count} statements rendered on a worker process"

    async def sign_out(self) -> str:
        """End the portal session, so the test leaves no live refresh token behind."""
        await self.off_gui(self._opened().client.sign_out)
        return "portal session ended"

    def _opened(self) -> sessions.OpenSession:
        if self.opened is None:
            raise SelfTestFailed("not signed in")
        return self.opened

    def _engine(self) -> SyncEngine:
        if self.engine is None:
            raise SelfTestFailed("not synced")
        return self.engine


def _composition() -> Any:
    """The composition root, imported when needed: it imports this module for its arguments."""
    from visitdesk.desktop import app

    return app


def _today(opened: sessions.OpenSession) -> date:
    return datetime.now(practice_zone(opened.practice)).date()


def _fill_statement_settings(store: Any, opened: sessions.OpenSession) -> None:
    """Statements need a remit-to address; give this throwaway store one if the office has none."""
    with store.write() as uow:
        settings = billing.load_settings(uow.session, opened.practice.name, opened.portal_url)
        if settings.ready:
            return
        settings.practice_phone = opened.practice.phone
        settings.remit_to = [opened.practice.name, "Self-test address, not for mailing"]
        billing.save_settings(uow.session, settings)


def _first_account(store: Any, today: date) -> str:
    with store.read() as session:
        for account in billing.iter_accounts(
            session, today, billing.StatementFilters(min_days_since_last=None)
        ):
            return account.guarantor_mrn
    raise SelfTestFailed("no account has a balance to put on a statement")


class _Report:
    """Where the report goes: the console when there is one, and the --report file if given."""

    def __init__(self, console: TextIO | None, path: Path | None) -> None:
        self.targets: list[TextIO] = [console] if console is not None else []
        if path is not None:
            self.targets.append(path.open("w", encoding="utf-8"))
        self._file = path is not None

    def write(self, text: str) -> None:
        for target in self.targets:
            target.write(text)
            target.flush()

    def flush(self) -> None:
        for target in self.targets:
            target.flush()

    def close(self) -> None:
        if self._file:
            self.targets[-1].close()


def run_self_test(options: SelfTestOptions, console: TextIO | None = None) -> int:
    """Run the self-test in its own QApplication on the offscreen platform; returns the exit code."""
    import qasync

    out = _Report(console if console is not None else sys.stdout, options.report)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    watchdog = threading.Timer(options.time_limit, _over_time, (options.time_limit, out))
    watchdog.daemon = True
    watchdog.start()
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="visitdesk-self-test-"))
    app = QApplication([sys.argv[0], "-platform", "offscreen"])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(app_version())
    app.setStyleSheet(_composition().load_stylesheet())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    test = SelfTest(options, data_dir, out)
    code = 0
    try:
        with loop:
            loop.run_until_complete(test.run())
    except SelfTestFailed as exc:
        out.write(f"self-test FAILED: {exc}\n")
        code = 1
    finally:
        watchdog.cancel()
        test.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    if code == 0:
        out.write(f"self-test passed in {time.perf_counter() - started:.1f} s\n")
    out.close()
    return code


def _over_time(limit: float, out: _Report) -> None:
    out.write(f"self-test FAILED: not finished within its time limit of {limit:g} s\n")
    out.close()
    os._exit(2)
