"""The outbox keeps each item's body in its last column.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 23:00:00

A bulk item's body is a 5,000-line batch of about 1.5 MB, stored on a chain of overflow pages. To
read a column stored after it, SQLite walks that chain. Columns added by later revisions
(``command``, ``params``, ``retryable``) were after the body, so the push worker's check of which
records have a change in flight, made for every page of the feed it applies, read every pending
batch whole: during a practice's initial push of a million ledger lines that was most of the
desk's time. The table is rebuilt with the body last; items, their ids and the id counter are
kept (see :mod:`visitdesk.desktop.models.migrations.sequence`).
"""

from __future__ import annotations

from alembic import op

from visitdesk.desktop.models.migrations.sequence import (
    outbox_sequence,
    restore_outbox_sequence,
)

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

_ORDER = (
    "id",
    "created_at",
    "command",
    "params",
    "idempotency_key",
    "description",
    "attempts",
    "last_error",
    "failed",
    "retryable",
    "next_attempt_at",
    "body",
)


def _rebuild(order: tuple[str, ...]) -> None:
    connection = op.get_bind()
    seq = outbox_sequence(connection)
    with op.batch_alter_table(
        "outbox",
        schema=None,
        recreate="always",
        partial_reordering=[order],
        table_kwargs={"sqlite_autoincrement": True},
    ):
        pass
    restore_outbox_sequence(connection, seq)


def upgrade() -> None:
    _rebuild(_ORDER)


def downgrade() -> None:
    # Column order means nothing to the older code: the body only goes back to third place,
    # where revision 0001 put it.
    _rebuild(("id", "created_at", "body", *(c for c in _ORDER[2:] if c != "body")))
