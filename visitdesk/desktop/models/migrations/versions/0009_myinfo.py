"""myInfo: patients' demographic and insurance changes with the decisions taken here, and
patients' insurance.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "demographic_changes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("account_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("decision_outbox_id", sa.Integer(), nullable=True),
        sa.Column("decided_here_at", sa.DateTime(), nullable=True),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demographic_changes")),
    )
    with op.batch_alter_table("demographic_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_demographic_changes_status_submitted_at"),
            ["status", "submitted_at"],
            unique=False,
        )

    op.create_table(
        "patient_insurance",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("payer", sa.String(length=200), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("group_number", sa.String(length=64), nullable=False),
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("card_front_image_id", sa.String(length=64), nullable=False),
        sa.Column("card_back_image_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_insurance")),
    )


def downgrade() -> None:
    op.drop_table("patient_insurance")
    with op.batch_alter_table("demographic_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demographic_changes_status_submitted_at"))

    op.drop_table("demographic_changes")
