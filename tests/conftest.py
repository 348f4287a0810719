"""Root test configuration: shared fixtures live in plugin modules beside this file."""

import gc
import os

import pytest

# GUI tests run on Qt's offscreen platform unless a display is chosen explicitly.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.fixtures_portal", "tests.fixtures_keyring"]


def pytest_configure(config: pytest.Config) -> None:
    # As in the desktop app (visitdesk.desktop.collector): cyclic garbage is collected on the main
    # thread only, never on the portal's or a sync worker's thread, where freeing the last
    # reference to a Qt object would destroy it on the wrong thread.
    gc.disable()


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread():
    yield
    from visitdesk.desktop.collector import collect_if_due

    collect_if_due()
