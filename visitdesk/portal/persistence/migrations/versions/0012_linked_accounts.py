"""Linked accounts: how and by whom each link was made, revocation reasons, account sign-ins
and locks, and the indexes the manager's paged list needs.

Revision ID: 0012
Revises: 0004
Create Date: 2026-12-03 08:30:00

Links made before this revision have an empty `method` ("not recorded"); nothing is guessed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("locked_by_staff_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("lock_reason", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.create_index(
            "ix_patient_accounts_name", ["last_name", "first_name", "id"], unique=False
        )
    with op.batch_alter_table("account_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("method", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("security_code_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("made_by_staff_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("made_by", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("revoke_reason", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.create_index(
            "ix_account_links_practice_account", ["practice_id", "account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("account_links", schema=None) as batch_op:
        batch_op.drop_index("ix_account_links_practice_account")
        for column in (
            "revoke_reason",
            "made_by",
            "made_by_staff_id",
            "security_code_id",
            "method",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("patient_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_accounts_name")
        for column in ("lock_reason", "locked_by_staff_id", "locked_at", "last_sign_in_at"):
            batch_op.drop_column(column)
