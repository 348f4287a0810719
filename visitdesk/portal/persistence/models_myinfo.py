"""Tables of myInfo: patients' demographic and insurance changes, staff decisions per field, the
insurance the practice holds for each patient, and insurance card images.

A card image is stored in chunks of its own table (`card_image_chunks`), so it is written while it
is received and read back a chunk at a time: no request holds a whole image in memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from visitdesk.portal.persistence.db import Base, UTCDateTime, utcnow
from visitdesk.portal.persistence.models import new_id


class DemographicChange(Base):
    """One submission of a patient account for one linked patient."""

    __tablename__ = "demographic_changes"
    __table_args__ = (
        Index("ix_demographic_changes_practice_status", "practice_id", "status", "submitted_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    #: "pending" until staff decide every field, then "decided".
    status: Mapped[str] = mapped_column(String(16), default="pending")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_by_staff_id: Mapped[str | None] = mapped_column(String(36), default=None)


class DemographicChangeField(Base):
    """One field of a change: the patient's value and staff's decision on it."""

    __tablename__ = "demographic_change_fields"

    change_id: Mapped[str] = mapped_column(
        ForeignKey("demographic_changes.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: Position in the review order, so every reader lists the fields alike.
    position: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(String(254), default="")
    decision: Mapped[str] = mapped_column(String(16), default="pending")


class PatientInsurance(Base):
    """The insurance the practice holds for a patient (set by accepted myInfo changes)."""

    __tablename__ = "patient_insurance"

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    payer: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[str] = mapped_column(String(64), default="")
    group_number: Mapped[str] = mapped_column(String(64), default="")
    subscriber: Mapped[str] = mapped_column(String(200), default="")
    relationship: Mapped[str] = mapped_column(String(16), default="")
    card_front_image_id: Mapped[str] = mapped_column(String(36), default="")
    card_back_image_id: Mapped[str] = mapped_column(String(36), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CardImage(Base):
    """An insurance card image a patient account uploaded; bound to a practice when a change
    that names it is submitted."""

    __tablename__ = "card_images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    practice_id: Mapped[str | None] = mapped_column(
        ForeignKey("practices.id", ondelete="CASCADE"), default=None
    )
    change_id: Mapped[str | None] = mapped_column(String(36), default=None)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CardImageChunk(Base):
    __tablename__ = "card_image_chunks"

    image_id: Mapped[str] = mapped_column(
        ForeignKey("card_images.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
