"""The billing tables of the local store: ledgers, portal payments, statement runs and the
statements sent, account holds and the statement settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from visitdesk.desktop.models.schema import Base


class LedgerLine(Base):
    """A charge, payment or adjustment; amounts are signed cents (charges positive)."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        Index(None, "guarantor_mrn", "posted_date"),
        Index(None, "patient_mrn", "posted_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The practice system's line id; portal payments carry "PORTAL-<payment id>".
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    portal_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    patient_mrn: Mapped[str] = mapped_column(String(32))
    guarantor_mrn: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    service_date: Mapped[date | None] = mapped_column(Date)
    posted_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    responsibility: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="import")
    updated_at: Mapped[datetime]


class PortalPayment(Base):
    """A card payment a patient made on the portal, as the feed reported it."""

    __tablename__ = "portal_payments"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_portal_id: Mapped[str] = mapped_column(String(64))
    patient_mrn: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    card_brand: Mapped[str] = mapped_column(String(32))
    card_last4: Mapped[str] = mapped_column(String(4))
    ledger_line_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class StatementRun(Base):
    """One batch of statements: who ran it, when, with which filters, and what it produced."""

    __tablename__ = "statement_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    statement_date: Mapped[date] = mapped_column(Date)
    filters: Mapped[dict[str, Any]]
    statement_count: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    #: The combined PDF for printing, relative to the archive folder.
    combined_path: Mapped[str] = mapped_column(String(500))
    combined_sha256: Mapped[str] = mapped_column(String(64))


class Statement(Base):
    """A statement as sent: its archived PDF (path relative to the archive, and its SHA-256)."""

    __tablename__ = "statements"
    __table_args__ = (Index(None, "guarantor_mrn", "statement_date"), Index(None, "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("statement_runs.id"))
    guarantor_mrn: Mapped[str] = mapped_column(String(32))
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    amount_due_cents: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    pdf_path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))


class AccountHold(Base):
    """A guarantor account that gets no statements for now (disputed, payment plan, ...)."""

    __tablename__ = "account_holds"

    guarantor_mrn: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class BillingSetting(Base):
    """Statement settings (remit-to address, messages...) as JSON values by key."""

    __tablename__ = "billing_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
