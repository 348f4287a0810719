"""The two databases a test may run on: SQLite in a temporary folder, and PostgreSQL when CI
gives one (``VISITDESK_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get("VISITDESK_TEST_POSTGRES_URL", "")

#: Parameters for ``@pytest.fixture(params=BACKENDS)`` or ``indirect=True``.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="VISITDESK_TEST_POSTGRES_URL is not set"),
        ],
    ),
]


def backend_url(backend: str, tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """The database URL of `backend` (a BACKENDS value); SQLite gets a fresh file `name`."""
    if backend == "postgres":
        return POSTGRES_URL
    return f"sqlite:///{tmp_path_factory.mktemp(name) / f'{name}.sqlite3'}"
