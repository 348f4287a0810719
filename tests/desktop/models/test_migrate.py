from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from setuptools import find_packages
from sqlalchemy import create_engine

from visitdesk.api.commands import REVOKE_SECURITY_CODE
from visitdesk.desktop.models import LocalStore, StoreUnavailableError, migrate
from visitdesk.desktop.models.messages import SEARCH_TABLE
from visitdesk.desktop.models.tables import METADATA

#: The FTS5 index over messages and its shadow tables are not ORM tables.
ORM_ONLY = {"include_name": lambda name, _type, _parents: not str(name).startswith(SEARCH_TABLE)}


def test_migrations_create_exactly_the_orm_schema(tmp_path: Path) -> None:
    store = LocalStore.open(tmp_path / "s.sqlite3")
    try:
        with store.engine.connect() as conn:
            # The FTS5 index and its shadow tables are not ORM tables.
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, _type, _parents: (
                        not str(name).startswith(SEARCH_TABLE)
                    ),
                },
            )
            diff = compare_metadata(context, METADATA)
    finally:
        store.close()
    assert diff == []


def test_open_sets_pragmas_and_stamps_head(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "s.sqlite3"
    store = LocalStore.open(path)
    try:
        with store.engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        store.close()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 10000,
        "synchronous": 1,
    }
    assert migrate.current_revision(path) == migrate.head_revision()


def test_reopening_at_head_makes_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    LocalStore.open(path).close()
    LocalStore.open(path).close()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".bak"] == []


def _scripts_with_second_revision(tmp_path: Path) -> Path:
    scripts = tmp_path / "scripts"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0002_test.py").write_text(
        '"""test revision"""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "0002"\ndown_revision = {tuple(sorted(migrate.head_revisions()))!r}\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade():\n"
        '    with op.batch_alter_table("patients") as batch:\n'
        '        batch.add_column(sa.Column("nickname", sa.String(50), nullable=True))\n\n\n'
        "def downgrade():\n"
        '    with op.batch_alter_table("patients") as batch:\n'
        '        batch.drop_column("nickname")\n'
    )
    return scripts


def test_older_database_is_backed_up_before_migrating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.sqlite3"
    store = LocalStore.open(path)
    store.set_state("marker", "before")
    store.close()
    before = migrate.head_revision()  # "0001", or "0001+..." heads while features branch

    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", _scripts_with_second_revision(tmp_path))
    store = LocalStore.open(path)
    try:
        assert store.get_state("marker") == "before"
    finally:
        store.close()
    assert migrate.current_revision(path) == "0002"
    backups = sorted(tmp_path.glob(f"s.sqlite3.{before}.*.bak"))
    assert len(backups) == 1
    with closing(sqlite3.connect(backups[0])) as conn, conn:
        stamped = sorted(row[0] for row in conn.execute("SELECT version_num FROM alembic_version"))
        assert "+".join(stamped) == before
        assert conn.execute("SELECT value FROM sync_state WHERE key='marker'").fetchone() == (
            "before",
        )
        columns = {row[1] for row in conn.execute("PRAGMA table_info(patients)")}
    assert "nickname" not in columns


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    LocalStore.open(path).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM alembic_version")  # one row per open branch
        conn.execute("INSERT INTO alembic_version (version_num) VALUES ('9999')")
    with pytest.raises(StoreUnavailableError, match="newer version"):
        LocalStore.open(path)


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreUnavailableError, match="not a VisitDesk database"):
        LocalStore.open(path)


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreUnavailableError):
        LocalStore.open(path)


def test_migration_scripts_are_packaged() -> None:
    root = Path(__file__).resolve().parents[3]
    packages = find_packages(where=str(root), include=["visitdesk*"])
    assert "visitdesk.desktop.models.migrations" in packages
    assert "visitdesk.desktop.models.migrations.versions" in packages
    assert (migrate.MIGRATIONS_DIR / "script.py.mako").exists()


def test_engine_for_autogenerate_has_no_pending_changes(tmp_path: Path) -> None:
    """The development path (env.py with a URL, as `alembic revision --autogenerate` uses)."""
    from alembic import command

    config = migrate.alembic_config()
    config.set_main_option("sqlalchemy.url", f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    command.upgrade(config, "heads")
    engine = create_engine(f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts=ORM_ONLY), METADATA)
    finally:
        engine.dispose()
    assert diff == []


def test_the_outbox_is_rebuilt_with_the_body_last_keeping_items_and_the_id_counter(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
        columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(outbox)")]
        assert columns.index("body") < columns.index("params")  # as revision 0010 left it
        for n in (1, 2, 3):
            connection.exec_driver_sql(
                "INSERT INTO outbox (created_at, body, idempotency_key, description, attempts, "
                "failed, retryable, command, params) VALUES "
                f"('2026-12-03 10:00:00.000000', '{{\"n\": {n}}}', 'k{n}', 'item {n}', 0, 0, 1, "
                "'upsert_patients', '{}')"
            )
        connection.exec_driver_sql("DELETE FROM outbox WHERE id = 3")  # sent: 3 is never reused
    engine.dispose()

    store = LocalStore.open(path)
    try:
        with store.engine.connect() as connection:
            columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(outbox)")]
            assert columns[-1] == "body"
            ddl = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'outbox'"
            ).scalar()
            assert "AUTOINCREMENT" in str(ddl)
        line = store.outbox_line(0, [], 10)
        # A bulk batch comes out of the push line as its text (see test_outbox).
        assert [(item.id, item.body_json, item.description) for item in line] == [
            (1, '{"n": 1}', "item 1"),
            (2, '{"n": 2}', "item 2"),
        ]
        assert store.enqueue(REVOKE_SECURITY_CODE, {"code_id": "K"}, None, "next").id == 4
    finally:
        store.close()
