"""Bring a local store's schema up to date with the Alembic scripts shipped in the package."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from visitdesk.desktop.models.errors import StoreUnavailableError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic Config built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revisions() -> frozenset[str]:
    """The newest revision of every branch (features may add their tables on parallel branches)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def head_revision() -> str:
    """The single newest revision, joined with "+" when several branches are open."""
    return "+".join(sorted(head_revisions()))


def current_revision(path: Path) -> str | None:
    """The revision(s) stamped in the file at `path`, joined with "+" like `head_revision`.

    None for a missing or empty database."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if "alembic_version" not in tables:
            if tables:
                raise StoreUnavailableError(
                    f"{path} is not a VisitDesk database (it has tables but no schema version)."
                )
            return None
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        return "+".join(sorted(str(row[0]) for row in rows)) or None
    except sqlite3.DatabaseError as exc:
        raise StoreUnavailableError(f"Cannot read the local database {path}: {exc}") from exc
    finally:
        conn.close()


def backup(path: Path, revision: str) -> Path:
    """Copy the database (consistently, through SQLite's backup API) beside itself."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{revision}.{stamp}.bak")
    source = sqlite3.connect(path)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
    return target


def upgrade(engine: Engine, path: Path) -> Path | None:
    """Migrate the database at `path` (open through `engine`) to the newest revision.

    An existing database on an older revision is first copied to a backup file, whose path is
    returned (None when no backup was needed). A database from a newer VisitDesk is refused.
    """
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = head_revision()
    current = current_revision(path)
    if current == head:
        return None
    backup_path = None
    if current is not None:
        known = {rev.revision for rev in script.walk_revisions()}
        if not set(current.split("+")) <= known:
            raise StoreUnavailableError(
                f"The local database {path} was written by a newer version of VisitDesk "
                f"(schema {current}). Update VisitDesk on this workstation."
            )
        backup_path = backup(path, current)
        log.info("Backed up the local database before migrating from %s to %s", current, head)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    return backup_path
