"""Outbox: whether a change the portal refused can succeed if sent again.

A permission or validation refusal fails again identically, so the desk offers only Discard for
it; a conflict or an answer this version did not understand may go through later.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("retryable", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("retryable")
