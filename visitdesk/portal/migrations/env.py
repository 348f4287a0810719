"""Alembic environment for the portal's database (SQLite or PostgreSQL).

Run programmatically by `visitdesk.portal.migrate.upgrade`; see `visitdesk.alembic_env`.
"""

from __future__ import annotations

from visitdesk.alembic_env import run_environment
from visitdesk.portal import models, models_billing, models_registration  # noqa: F401 (tables)
from visitdesk.portal.db import Base
from visitdesk.portal.messages import models as message_models  # noqa: F401 (tables)

run_environment(Base.metadata)
