"""Check-in desk: who began a check-in (app or desk), no-shows, turned-away I'm Here taps, the
quick text sent when an arrival is acknowledged.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=8), nullable=False, server_default="app")
        )
        batch_op.create_index("ix_checkins_appointment_id", ["appointment_id"], unique=False)
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("no_show_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("no_show_by", sa.String(length=200), nullable=True))
    op.create_table(
        "arrival_attempts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.String(length=64), nullable=True),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival_attempts")),
    )
    op.create_index(
        "ix_arrival_attempts_attempted_at", "arrival_attempts", ["attempted_at"], unique=False
    )
    with op.batch_alter_table("quick_texts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("on_acknowledge", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("quick_texts", schema=None) as batch_op:
        batch_op.drop_column("on_acknowledge")
    op.drop_index("ix_arrival_attempts_attempted_at", table_name="arrival_attempts")
    op.drop_table("arrival_attempts")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("no_show_by")
        batch_op.drop_column("no_show_at")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_appointment_id")
        batch_op.drop_column("source")
