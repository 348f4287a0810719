"""Bring the portal's database schema up to date with the Alembic scripts shipped in the package.

Every start of the service runs `upgrade` (a no-op when the schema is current), one process at a
time: the first worker to start migrates, the others find the schema up to date.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The schema the portal created (with `create_all`) before it had migrations.
FIRST_REVISION = "0001"
#: A constant key for PostgreSQL's advisory lock held while migrating.
_MIGRATION_LOCK = 0x56445350  # "VDSP"


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of the portal."""


def alembic_config() -> Config:
    """An Alembic Config built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(connection: Connection) -> bool:
    """Migrate to the newest revision inside the caller's transaction on `connection`.

    The caller holds the database's write lock (SQLite); on PostgreSQL this takes an advisory
    lock first, so concurrent starts do not race. Returns whether anything changed.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    heads = set(script.get_heads())
    current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return False
    known = {revision.revision for revision in script.walk_revisions()}
    if not current <= known:
        raise SchemaTooNew(
            f"The portal database has schema {'+'.join(sorted(current))}, written by a newer "
            "version of the VisitDesk portal. Update this installation."
        )
    config.attributes["connection"] = connection
    if not current and "practices" in inspect(connection).get_table_names():
        # Created before the portal had migrations: those tables are the first revision.
        command.stamp(config, FIRST_REVISION)
        log.info("Portal database from before migrations: stamped %s", FIRST_REVISION)
    command.upgrade(config, "heads")
    log.info("Portal database migrated to %s", "+".join(sorted(heads)))
    return True
