"""Staff refresh tokens remember their successor and a retry after a lost answer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("grace_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("grace_used_at")
        batch_op.drop_column("replaced_by")
