"""Root test configuration: shared fixtures live in plugin modules beside this file."""

import os

# GUI tests run on Qt's offscreen platform unless a display is chosen explicitly.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.fixtures_portal", "tests.fixtures_keyring"]
