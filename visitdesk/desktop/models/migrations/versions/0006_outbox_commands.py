"""The outbox stores catalogue commands (name, path parameters, body) instead of method and URL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:00:00

Items queued by an older desk are converted, not dropped: each (method, path) those versions could
write is matched against the paths they used, frozen here (the catalogue may change later; this
script must not). An item whose path is none of them cannot be sent by this version, so it is
parked as failed with a message instead of vanishing; the user sees it in the outbox dialog.

SQLite rebuilds the table to drop columns. The rebuilt table keeps AUTOINCREMENT and the id
counter, so an id given before the upgrade is never given again (registrations remember the id of
their decision's item).
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic import op

from visitdesk.desktop.models.migrations.sequence import (
    outbox_sequence,
    restore_outbox_sequence,
)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_ID = r"(?P<{}>[^/?#%&=\\ ]+)"
#: (method, path pattern, command name) of every outbox call revisions 0001-0005 wrote.
_OLD_CALLS = (
    ("PUT", r"/api/staff/v1/patients", "upsert_patients"),
    ("PUT", r"/api/staff/v1/appointments", "upsert_appointments"),
    ("PUT", r"/api/staff/v1/ledger", "upsert_ledger"),
    ("POST", rf"/api/staff/v1/checkins/{_ID.format('checkin_id')}/status", "set_checkin_status"),
    (
        "POST",
        rf"/api/staff/v1/registrations/{_ID.format('registration_id')}/match",
        "match_registration",
    ),
    (
        "POST",
        rf"/api/staff/v1/registrations/{_ID.format('registration_id')}/reject",
        "reject_registration",
    ),
)
_PATTERNS = tuple((method, re.compile(rf"^{path}$"), name) for method, path, name in _OLD_CALLS)
UNKNOWN_COMMAND = "unknown"
UNKNOWN_MESSAGE = (
    "This change was queued by an older VisitDesk in a form this version cannot send. "
    "Discard it and make the change again."
)


def _command_of(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for known_method, pattern, name in _PATTERNS:
        found = pattern.match(path)
        if found and method.upper() == known_method:
            return name, found.groupdict()
    return None


def upgrade() -> None:
    connection = op.get_bind()
    seq = outbox_sequence(connection)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("command", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))

    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("method", sa.String()),
        sa.column("path", sa.String()),
        sa.column("command", sa.String()),
        sa.column("params", sa.Text()),
        sa.column("failed", sa.Boolean()),
        sa.column("last_error", sa.Text()),
    )
    rows = connection.execute(sa.select(outbox.c.id, outbox.c.method, outbox.c.path)).all()
    for row in rows:
        found = _command_of(row.method, row.path)
        if found is None:
            values = {
                "command": UNKNOWN_COMMAND,
                "params": "{}",
                "failed": True,
                "last_error": UNKNOWN_MESSAGE,
            }
        else:
            values = {"command": found[0], "params": json.dumps(found[1])}
        connection.execute(outbox.update().where(outbox.c.id == row.id).values(**values))

    with op.batch_alter_table(
        "outbox", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("command", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("params", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("method")
        batch_op.drop_column("path")
    restore_outbox_sequence(connection, seq)


def downgrade() -> None:
    # The way back rebuilds the URLs of the commands the older desk knew.
    connection = op.get_bind()
    seq = outbox_sequence(connection)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("path", sa.String(length=500), nullable=True))
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("command", sa.String()),
        sa.column("params", sa.Text()),
        sa.column("method", sa.String()),
        sa.column("path", sa.String()),
    )
    templates = {
        name: (method, re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path))
        for method, path, name in _OLD_CALLS
    }
    for row in connection.execute(sa.select(outbox.c.id, outbox.c.command, outbox.c.params)):
        method, template = templates.get(row.command, ("POST", "/api/staff/v1/unknown"))
        params = json.loads(row.params) if isinstance(row.params, str) else (row.params or {})
        connection.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(method=method, path=template.format(**params))
        )
    with op.batch_alter_table(
        "outbox", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.alter_column("method", existing_type=sa.String(length=8), nullable=False)
        batch_op.alter_column("path", existing_type=sa.String(length=500), nullable=False)
        batch_op.drop_column("command")
        batch_op.drop_column("params")
    restore_outbox_sequence(connection, seq)
