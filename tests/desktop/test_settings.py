"""Workstation settings: defaults, and values from a hand-edited file kept within bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visitdesk.desktop.settings import MAX_PUSH_CONCURRENCY, SETTINGS_FILE, Settings
from visitdesk.sync.engine import PUSH_CONCURRENCY


def test_push_concurrency_defaults_to_the_engines(tmp_path: Path) -> None:
    assert Settings.load(tmp_path).push_concurrency == PUSH_CONCURRENCY


@pytest.mark.parametrize(
    ("written", "loaded"),
    [(2, 2), (0, 1), (-3, 1), (500, MAX_PUSH_CONCURRENCY), ("8", PUSH_CONCURRENCY)],
)
def test_push_concurrency_from_the_file_is_kept_within_bounds(
    tmp_path: Path, written: object, loaded: int
) -> None:
    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"push_concurrency": written}))
    assert Settings.load(tmp_path).push_concurrency == loaded


def test_saved_settings_load_back(tmp_path: Path) -> None:
    Settings(push_concurrency=3, sync_wait_seconds=5.0).save(tmp_path)
    loaded = Settings.load(tmp_path)
    assert (loaded.push_concurrency, loaded.sync_wait_seconds) == (3, 5.0)
