"""Root test configuration: shared fixtures live in plugin modules beside this file."""

pytest_plugins = ["tests.fixtures_portal", "tests.fixtures_keyring"]
