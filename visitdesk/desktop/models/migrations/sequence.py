"""The outbox's id counter across a table rebuild (migrations that recreate the outbox).

SQLite rebuilds a table to drop or reorder columns. The outbox uses AUTOINCREMENT so an id given
once is never given again (a late answer for an item must not settle a newer one, and
registrations remember the id of their decision's item); a rebuilt table starts its counter
afresh unless it is carried over.
"""

from __future__ import annotations

import sqlalchemy as sa


def outbox_sequence(connection: sa.Connection) -> int | None:
    """The outbox's id counter before a rebuild (None on a database without one)."""
    if connection.dialect.name != "sqlite":
        return None
    return connection.execute(
        sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
    ).scalar()


def restore_outbox_sequence(connection: sa.Connection, seq: int | None) -> None:
    """Give the rebuilt outbox the counter it had."""
    if seq is None:
        return
    connection.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'outbox'"))
    connection.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', :seq)"), {"seq": seq}
    )
