"""Fixtures that assemble a signed-in desk (store, client, engine, window) against the real portal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_portal import PortalPractice
from visitdesk.desktop import session as sessions
from visitdesk.desktop.app import load_stylesheet, ops_for
from visitdesk.desktop.main_window import MainWindow
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.desk import DeskOps
from visitdesk.desktop.sync_bridge import SyncBridge
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine


@dataclass
class Desk:
    """One workstation: its own data directory, local store, sync engine and main window."""

    opened: sessions.OpenSession
    engine: SyncEngine
    bridge: SyncBridge
    runner: TaskRunner
    ops: DeskOps
    window: MainWindow

    @property
    def store(self) -> LocalStore:
        return self.opened.store

    def close(self) -> None:
        self.engine.stop()
        self.runner.shutdown(wait=True)
        self.window.close()
        self.opened.client.close()
        self.opened.store.close()


@pytest.fixture
def styled(qapp):
    """The application's stylesheet, for screenshots that look like the product."""
    qapp.setStyleSheet(load_stylesheet())
    yield
    qapp.setStyleSheet("")


@pytest.fixture
def make_desk(qtbot, tmp_path: Path) -> Iterator[Callable[..., Desk]]:
    desks: list[Desk] = []

    def make(practice: PortalPractice, role: str = "front_desk", name: str = "ws1") -> Desk:
        staff = practice.staff[role]
        opened = sessions.sign_in(
            tmp_path / name,
            practice.base_url,
            practice.practice_code,
            staff.username,
            staff.password,
            practice.ca_file,
            MemoryTokenStore(),
        )
        bridge = SyncBridge()
        engine = SyncEngine(opened.client, opened.store, wait_seconds=1, listener=bridge)
        runner = TaskRunner()
        ops = ops_for(runner, opened, engine, bridge)
        window = MainWindow(ops, bridge)
        qtbot.addWidget(window)
        desk = Desk(opened, engine, bridge, runner, ops, window)
        desks.append(desk)
        engine.start()
        window.show()
        return desk

    yield make
    for desk in desks:
        desk.close()
