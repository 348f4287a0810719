"""Alembic environment for the portal's database (SQLite or PostgreSQL).

Run programmatically by `visitdesk.portal.persistence.migrate.upgrade`; see `visitdesk.alembic_env`.
"""

from __future__ import annotations

from visitdesk.alembic_env import run_environment
from visitdesk.portal.persistence import (  # noqa: F401 (tables)
    models,
    models_billing,
    models_messages,
    models_myinfo,
    models_registration,
)
from visitdesk.portal.persistence.db import Base

run_environment(Base.metadata)
