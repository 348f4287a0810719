"""Billing: ledger lines, portal payments, statement runs and archived statements, holds,
statement settings.

Revision ID: 0003
Revises: 0001 (a branch beside the security codes; the lead linearises)
Create Date: 2026-11-30 07:26:36.081452
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002_security_codes"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "account_holds",
        sa.Column("guarantor_mrn", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("guarantor_mrn", name=op.f("pk_account_holds")),
    )
    op.create_table(
        "billing_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_billing_settings")),
    )
    op.create_table(
        "ledger_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("portal_id", sa.String(length=64), nullable=True),
        sa.Column("patient_mrn", sa.String(length=32), nullable=False),
        sa.Column("guarantor_mrn", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("posted_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("responsibility", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lines")),
        sa.UniqueConstraint("external_id", name=op.f("uq_ledger_lines_external_id")),
        sa.UniqueConstraint("portal_id", name=op.f("uq_ledger_lines_portal_id")),
    )
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_lines_guarantor_mrn_posted_date"),
            ["guarantor_mrn", "posted_date"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_lines_patient_mrn_posted_date"),
            ["patient_mrn", "posted_date"],
            unique=False,
        )

    op.create_table(
        "portal_payments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_portal_id", sa.String(length=64), nullable=False),
        sa.Column("patient_mrn", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("card_brand", sa.String(length=32), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("ledger_line_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_payments")),
    )
    with op.batch_alter_table("portal_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_payments_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "statement_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("statement_count", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("combined_path", sa.String(length=500), nullable=False),
        sa.Column("combined_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_runs")),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("guarantor_mrn", sa.String(length=32), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_due_cents", sa.BigInteger(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("pdf_path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["statement_runs.id"], name=op.f("fk_statements_run_id_statement_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statements_guarantor_mrn_statement_date"),
            ["guarantor_mrn", "statement_date"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_statements_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_run_id"))
        batch_op.drop_index(batch_op.f("ix_statements_guarantor_mrn_statement_date"))

    op.drop_table("statements")
    op.drop_table("statement_runs")
    with op.batch_alter_table("portal_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_payments_created_at"))

    op.drop_table("portal_payments")
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_lines_patient_mrn_posted_date"))
        batch_op.drop_index(batch_op.f("ix_ledger_lines_guarantor_mrn_posted_date"))

    op.drop_table("ledger_lines")
    op.drop_table("billing_settings")
    op.drop_table("account_holds")
