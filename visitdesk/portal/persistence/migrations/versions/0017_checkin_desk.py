"""Check-in desk: who began a check-in (app or desk), no-shows, turned-away I'm Here taps.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=8), nullable=False, server_default="app")
        )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("no_show_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("no_show_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("no_show_by_staff_id", sa.String(length=36), nullable=True))
    op.create_table(
        "arrival_attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("practice_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("appointment_id", sa.String(length=36), nullable=True),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_arrival_attempts_practice_id_practices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_arrival_attempts_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_arrival_attempts_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["patient_accounts.id"],
            name=op.f("fk_arrival_attempts_account_id_patient_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrival_attempts")),
    )
    op.create_index(
        "ix_arrival_attempts_practice_at",
        "arrival_attempts",
        ["practice_id", "attempted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_arrival_attempts_practice_at", table_name="arrival_attempts")
    op.drop_table("arrival_attempts")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("no_show_by_staff_id")
        batch_op.drop_column("no_show_by")
        batch_op.drop_column("no_show_at")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_column("source")
