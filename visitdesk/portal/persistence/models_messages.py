"""Tables of secure messages.

Attachment content lives in ``message_attachment_chunks``, one row per 64 KiB piece, so an upload
is written and a download read piece by piece and never held whole in memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from visitdesk.portal.persistence.db import Base, UTCDateTime, utcnow
from visitdesk.portal.persistence.models import new_id


class MessageThread(Base):
    __tablename__ = "message_threads"
    __table_args__ = (
        Index("ix_message_threads_practice_last", "practice_id", "last_message_at"),
        Index("ix_message_threads_patient", "patient_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    #: The account that began the thread; replies are announced to it.
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="SET NULL"), default=None
    )
    topic: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    assigned_staff_id: Mapped[str | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )
    assigned_name: Mapped[str | None] = mapped_column(String(200), default=None)
    checkin_id: Mapped[str | None] = mapped_column(
        ForeignKey("checkins.id", ondelete="SET NULL"), default=None, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    last_patient_number: Mapped[int] = mapped_column(Integer, default=0)
    last_staff_number: Mapped[int] = mapped_column(Integer, default=0)
    staff_read_number: Mapped[int] = mapped_column(Integer, default=0)
    patient_read_number: Mapped[int] = mapped_column(Integer, default=0)


class ThreadMessage(Base):
    __tablename__ = "thread_messages"
    __table_args__ = (UniqueConstraint("thread_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(ForeignKey("message_threads.id", ondelete="CASCADE"))
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    author_kind: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str] = mapped_column(String(200))
    author_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)
    author_account_id: Mapped[str | None] = mapped_column(String(36), default=None)
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageAttachment(Base):
    __tablename__ = "message_attachments"
    __table_args__ = (Index("ix_message_attachments_thread", "thread_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(ForeignKey("message_threads.id", ondelete="CASCADE"))
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    #: NULL until a message carries it.
    message_id: Mapped[str | None] = mapped_column(
        ForeignKey("thread_messages.id", ondelete="CASCADE"), default=None, index=True
    )
    #: ``patient:<account id>`` or ``staff:<staff id>``: only the uploader may attach it.
    uploaded_by: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttachmentChunk(Base):
    __tablename__ = "message_attachment_chunks"

    attachment_id: Mapped[str] = mapped_column(
        ForeignKey("message_attachments.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
