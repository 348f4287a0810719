"""What the Alembic environments of the local store and the portal share.

Each `migrations/env.py` calls `run_environment` with its metadata. Run programmatically, the caller
hands over an open connection in `config.attributes["connection"]`; for development
(`alembic revision --autogenerate`) a `sqlalchemy.url` main option works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, MetaData, create_engine


def run_environment(target_metadata: MetaData) -> None:
    config = context.config

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode copies the table (and on other
            # databases simply alters it).
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=target_metadata,
            render_as_batch=True,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    try:
        with engine.connect() as conn:
            run(conn)
    finally:
        engine.dispose()
