"""The portal's billing tables: ledger lines (from the practice system and the portal) and payments.

Card data never reaches these tables: a payment keeps the gateway's reference, the card brand and
its last four digits, as printed on any receipt.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from visitdesk.portal.persistence.db import Base, UTCDateTime, utcnow
from visitdesk.portal.persistence.models import new_id


class LedgerLine(Base):
    """A charge, payment or adjustment on a patient's ledger; amounts in signed cents."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        UniqueConstraint("practice_id", "external_id"),
        Index("ix_ledger_lines_patient_posted", "patient_id", "posted_date"),
        Index("ix_ledger_lines_guarantor", "guarantor_patient_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    #: The practice system's line id; portal payments get "PORTAL-" plus the payment id.
    external_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    guarantor_patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    service_date: Mapped[date | None] = mapped_column(Date, default=None)
    posted_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    responsibility: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="import")
    payment_id: Mapped[str | None] = mapped_column(String(36), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(Base):
    """A card payment a patient made on the portal.

    ``status`` is "approved" (posted to the ledger), "pending" (the processor took it and will
    confirm it by a signed event) or "failed" (the processor reported it declined or cancelled).
    """

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_patient_created", "patient_id", "created_at"),
        Index("ix_payments_gateway_reference", "gateway_reference"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="SET NULL"), default=None
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    gateway_reference: Mapped[str] = mapped_column(String(64))
    card_brand: Mapped[str] = mapped_column(String(32))
    card_last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
