"""Fixtures for the local store: a fresh SQLite file per test, closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from visitdesk.desktop.models import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    opened = LocalStore.open(tmp_path / "data" / "store.sqlite3")
    try:
        yield opened
    finally:
        opened.close()
