"""Secure messages: threads and messages from the feed, replies written here, quick texts, and an
FTS5 index over message bodies kept by triggers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:05:28.879747
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "message_threads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_staff_id", sa.String(length=64), nullable=True),
        sa.Column("assigned_name", sa.String(length=200), nullable=True),
        sa.Column("checkin_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("last_patient_number", sa.Integer(), nullable=False),
        sa.Column("last_staff_number", sa.Integer(), nullable=False),
        sa.Column("staff_read_number", sa.Integer(), nullable=False),
        sa.Column("patient_read_number", sa.Integer(), nullable=False),
        sa.Column("preview", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_threads")),
    )
    with op.batch_alter_table("message_threads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_threads_assigned_staff_id_status"),
            ["assigned_staff_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_message_threads_checkin_id"), ["checkin_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_message_threads_status_last_message_at"),
            ["status", "last_message_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_message_threads_topic_status"), ["topic", "status"], unique=False
        )

    op.create_table(
        "pending_replies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_replies")),
    )
    with op.batch_alter_table("pending_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_replies_thread_id"), ["thread_id"], unique=False
        )

    op.create_table(
        "quick_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_texts")),
    )
    op.create_table(
        "thread_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author_kind", sa.String(length=16), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_messages")),
        sa.UniqueConstraint("portal_id", name=op.f("uq_thread_messages_portal_id")),
    )
    with op.batch_alter_table("thread_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_thread_messages_thread_id_number"), ["thread_id", "number"], unique=True
        )

    # External-content FTS5: the index refers to thread_messages rows by id; triggers keep it in
    # step (messages are only ever inserted or deleted, never edited).
    op.execute(
        "CREATE VIRTUAL TABLE message_search USING fts5("
        "body, content='thread_messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER thread_messages_ai AFTER INSERT ON thread_messages BEGIN "
        "INSERT INTO message_search(rowid, body) VALUES (new.id, new.body); END"
    )
    op.execute(
        "CREATE TRIGGER thread_messages_ad AFTER DELETE ON thread_messages BEGIN "
        "INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body); END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER thread_messages_ad")
    op.execute("DROP TRIGGER thread_messages_ai")
    op.execute("DROP TABLE message_search")
    with op.batch_alter_table("thread_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_messages_thread_id_number"))

    op.drop_table("thread_messages")
    op.drop_table("quick_texts")
    with op.batch_alter_table("pending_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_replies_thread_id"))

    op.drop_table("pending_replies")
    with op.batch_alter_table("message_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_threads_topic_status"))
        batch_op.drop_index(batch_op.f("ix_message_threads_status_last_message_at"))
        batch_op.drop_index(batch_op.f("ix_message_threads_checkin_id"))
        batch_op.drop_index(batch_op.f("ix_message_threads_assigned_staff_id_status"))

    op.drop_table("message_threads")
