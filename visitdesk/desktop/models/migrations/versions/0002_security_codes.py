"""Security codes issued by the practice, and the patient search keys.

Revision ID: 0002_security_codes
Revises: 0001
Create Date: 2026-11-30 07:23:21.051021

`security_codes` is the desk's copy of the portal's codes (never the codes themselves).
`patient_search_keys` holds normalised names and phone digits of every patient, kept current by
triggers on `patients`; existing patients are keyed here. The trigger SQL comes from
`patient_search` so that it matches the query side exactly: a later change to the keys needs a new
revision that recreates the triggers and rebuilds the keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from visitdesk.desktop.models.patient_search import TRIGGERS, rebuild_keys_sql, trigger_ddl

revision: str = "0002_security_codes"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "security_codes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hint", sa.String(length=32), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_codes")),
    )
    with op.batch_alter_table("security_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_codes_issued_at"), ["issued_at"])
        batch_op.create_index(
            batch_op.f("ix_security_codes_patient_id_issued_at"), ["patient_id", "issued_at"]
        )
        batch_op.create_index(
            batch_op.f("ix_security_codes_status_issued_at"), ["status", "issued_at"]
        )
    op.create_table(
        "patient_search_keys",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("last_key", sa.String(length=100), nullable=False),
        sa.Column("first_key", sa.String(length=100), nullable=False),
        sa.Column("phone_digits", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_search_keys_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_search_keys")),
    )
    with op.batch_alter_table("patient_search_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_search_keys_last_key_first_key"), ["last_key", "first_key"]
        )
    for statement in trigger_ddl():
        op.execute(statement)
    for statement in rebuild_keys_sql():
        op.execute(statement)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("patient_search_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_search_keys_last_key_first_key"))
    op.drop_table("patient_search_keys")
    with op.batch_alter_table("security_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_codes_status_issued_at"))
        batch_op.drop_index(batch_op.f("ix_security_codes_patient_id_issued_at"))
        batch_op.drop_index(batch_op.f("ix_security_codes_issued_at"))
    op.drop_table("security_codes")
