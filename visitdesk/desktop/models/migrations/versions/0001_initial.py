"""Initial schema: practice state, patients, appointments, check-ins, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-30 06:33:19.769719

DateTime columns hold naive UTC (see `UTCDateTime`); the scripts use plain `sa.DateTime` so that
they stay frozen when the application types change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("patient_mrn", sa.String(length=32), nullable=False),
        sa.Column("patient_portal_id", sa.String(length=64), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("external_id", name=op.f("uq_appointments_external_id")),
        sa.UniqueConstraint("portal_id", name=op.f("uq_appointments_portal_id")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_patient_mrn"), ["patient_mrn"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_patient_portal_id"), ["patient_portal_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_starts_at"), ["starts_at"], unique=False)
    op.create_table(
        "checkins",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.String(length=64), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("status_changed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkins_arrived_at"), ["arrived_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkins_patient_id"), ["patient_id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_failed_id"), ["failed", "id"], unique=False)
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sa.String(length=64), nullable=True),
        sa.Column("mrn", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=12), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patients_mrn")),
        sa.UniqueConstraint("portal_id", name=op.f("uq_patients_portal_id")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patients_date_of_birth"), ["date_of_birth"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patients_last_name_first_name"),
            ["last_name", "first_name"],
            unique=False,
        )
    op.create_table(
        "sync_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_last_name_first_name"))
        batch_op.drop_index(batch_op.f("ix_patients_date_of_birth"))
    op.drop_table("patients")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_failed_id"))
    op.drop_table("outbox")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkins_patient_id"))
        batch_op.drop_index(batch_op.f("ix_checkins_arrived_at"))
    op.drop_table("checkins")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_starts_at"))
        batch_op.drop_index(batch_op.f("ix_appointments_patient_portal_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_patient_mrn"))
    op.drop_table("appointments")
