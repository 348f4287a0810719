"""Indexes for the linked-accounts search: lower() of the account's names, email and username,
and of the patient's names and MRN (after the practice), so that "starts with" seeks.

On PostgreSQL they use text_pattern_ops, which serves LIKE 'term%' whatever the database's
collation; SQLite compares lower() bytewise and seeks a range.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None

#: (index, table, leading columns, searched column)
_INDEXES = (
    ("ix_patient_accounts_first_lower", "patient_accounts", (), "first_name"),
    ("ix_patient_accounts_last_lower", "patient_accounts", (), "last_name"),
    ("ix_patient_accounts_email_lower", "patient_accounts", (), "email"),
    ("ix_patient_accounts_username_lower", "patient_accounts", (), "username"),
    ("ix_patients_first_lower", "patients", ("practice_id",), "first_name"),
    ("ix_patients_last_lower", "patients", ("practice_id",), "last_name"),
    ("ix_patients_mrn_lower", "patients", ("practice_id",), "mrn"),
)


def upgrade() -> None:
    ops = " text_pattern_ops" if op.get_bind().dialect.name == "postgresql" else ""
    for name, table, leading, column in _INDEXES:
        op.create_index(name, table, [*leading, sa.text(f"lower({column}){ops}")])


def downgrade() -> None:
    for name, table, _leading, _column in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
