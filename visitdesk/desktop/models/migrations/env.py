"""Alembic environment for the desktop's local store.

Run programmatically by `visitdesk.desktop.models.migrate.upgrade`; see `visitdesk.alembic_env`.
"""

from __future__ import annotations

from visitdesk.alembic_env import run_environment
from visitdesk.desktop.models.tables import METADATA

run_environment(METADATA)
