"""The collector set-up shared by the desk and the portal (visitdesk/api/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from visitdesk.api.heap import YOUNG_THRESHOLD, settle_garbage_collector


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_settling_freezes_what_lives_and_still_collects_what_comes_after() -> None:
    long_lived = [[n] for n in range(2000)]
    settle_garbage_collector()
    # Everything alive when it settled is out of the collector's walks from now on...
    assert gc.get_freeze_count() >= len(long_lived)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 20, 20)
    # ...and a cycle made afterwards is still found and freed.
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2
