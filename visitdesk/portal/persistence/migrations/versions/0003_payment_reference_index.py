"""Payments are found by the processor's reference when its signed event confirms them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 08:20:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_gateway_reference", ["gateway_reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_gateway_reference")
