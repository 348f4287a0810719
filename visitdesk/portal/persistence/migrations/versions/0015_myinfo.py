"""myInfo: patients' demographic and insurance changes with per-field decisions, the insurance
the practice holds per patient, and insurance card images stored in chunks.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "card_images",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("practice_id", sa.String(length=36), nullable=True),
        sa.Column("change_id", sa.String(length=36), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["patient_accounts.id"],
            name=op.f("fk_card_images_account_id_patient_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_card_images_practice_id_practices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_images")),
    )
    with op.batch_alter_table("card_images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_images_account_id"), ["account_id"], unique=False)

    op.create_table(
        "card_image_chunks",
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["card_images.id"],
            name=op.f("fk_card_image_chunks_image_id_card_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_id", "number", name=op.f("pk_card_image_chunks")),
    )
    op.create_table(
        "demographic_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("practice_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by_staff_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["patient_accounts.id"],
            name=op.f("fk_demographic_changes_account_id_patient_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_demographic_changes_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_demographic_changes_practice_id_practices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demographic_changes")),
    )
    with op.batch_alter_table("demographic_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_demographic_changes_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_demographic_changes_practice_status",
            ["practice_id", "status", "submitted_at"],
            unique=False,
        )

    op.create_table(
        "patient_insurance",
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("practice_id", sa.String(length=36), nullable=False),
        sa.Column("payer", sa.String(length=200), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("group_number", sa.String(length=64), nullable=False),
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("card_front_image_id", sa.String(length=36), nullable=False),
        sa.Column("card_back_image_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_insurance_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_patient_insurance_practice_id_practices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_insurance")),
    )
    op.create_table(
        "demographic_change_fields",
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["demographic_changes.id"],
            name=op.f("fk_demographic_change_fields_change_id_demographic_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_id", "field", name=op.f("pk_demographic_change_fields")),
    )


def downgrade() -> None:
    op.drop_table("demographic_change_fields")
    op.drop_table("patient_insurance")
    with op.batch_alter_table("demographic_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_demographic_changes_practice_status")
        batch_op.drop_index(batch_op.f("ix_demographic_changes_account_id"))

    op.drop_table("demographic_changes")
    op.drop_table("card_image_chunks")
    with op.batch_alter_table("card_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_images_account_id"))

    op.drop_table("card_images")
