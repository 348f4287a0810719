"""Every table of the local store, listed once.

The tables are declared beside their queries (core tables in `schema`, the features' in their own
modules); nothing registers itself by being imported. What needs the complete schema (Alembic's
environment, the test that compares migrations with the models) takes `METADATA` from here. The
FTS5 index over messages is not an ORM table: its migration makes it.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from visitdesk.desktop.models.billing.tables import (
    AccountHold,
    BillingSetting,
    LedgerLine,
    PortalPayment,
    Statement,
    StatementRun,
)
from visitdesk.desktop.models.codes import SecurityCode
from visitdesk.desktop.models.messages import Message, PendingReply, Thread
from visitdesk.desktop.models.myinfo import DemographicChange, PatientInsurance
from visitdesk.desktop.models.patient_search import PatientSearchKey
from visitdesk.desktop.models.quick_texts import QuickText
from visitdesk.desktop.models.reconcile import HeldFeedItem
from visitdesk.desktop.models.registrations import Registration
from visitdesk.desktop.models.schedule import ArrivalAttempt
from visitdesk.desktop.models.schema import (
    Appointment,
    Base,
    CheckIn,
    OutboxEntry,
    Patient,
    SyncState,
)

TABLES: tuple[type[Base], ...] = (
    SyncState,
    Patient,
    Appointment,
    CheckIn,
    ArrivalAttempt,
    OutboxEntry,
    HeldFeedItem,
    PatientSearchKey,
    SecurityCode,
    Registration,
    LedgerLine,
    PortalPayment,
    StatementRun,
    Statement,
    AccountHold,
    BillingSetting,
    DemographicChange,
    PatientInsurance,
    Thread,
    Message,
    PendingReply,
    QuickText,
)

#: The complete schema of the local store (every table in `TABLES`).
METADATA: MetaData = Base.metadata
