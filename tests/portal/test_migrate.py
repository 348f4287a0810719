"""The portal's schema comes from its migrations, which match the models exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select, text

from tests.portal.helpers import schema_drift
from visitdesk.portal.persistence import migrate
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.models import Practice


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    yield database
    database.dispose()


def revisions(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def test_a_new_database_is_created_by_the_migrations(db: Database) -> None:
    assert db.migrate_schema() is True
    assert schema_drift(db) == []
    assert revisions(db) == _heads()
    assert db.migrate_schema() is False  # current: nothing to do


def _schema_from_before_migrations(db: Database) -> None:
    """The tables as `create_all` made them before the portal had migrations: the first
    revision's schema, with no trace of Alembic."""
    config = migrate.alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, migrate.FIRST_REVISION)
        connection.exec_driver_sql("DROP TABLE alembic_version")


def test_a_database_from_before_migrations_is_stamped_and_keeps_its_data(db: Database) -> None:
    _schema_from_before_migrations(db)
    with db.write() as session:
        session.execute(
            insert(Practice).values(
                id="p1", code="old", name="Old Practice", timezone="UTC", created_at=utcnow()
            )
        )
    assert db.migrate_schema() is True
    assert revisions(db) == _heads()
    assert schema_drift(db) == []
    with db.read() as session:
        assert session.scalar(select(Practice.name).where(Practice.code == "old")) == "Old Practice"


def test_a_database_from_a_newer_portal_is_refused(db: Database) -> None:
    db.migrate_schema()
    with db.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(migrate.SchemaTooNew, match="newer version"):
        db.migrate_schema()


def _heads() -> set[str]:
    return set(ScriptDirectory.from_config(migrate.alembic_config()).get_heads())
