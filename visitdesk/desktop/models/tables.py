"""Every table of the local store, listed once.

The tables are declared beside their queries (core tables in `schema`, the features' in their own
modules); nothing registers itself by being imported. What needs the complete schema (Alembic's
environment, the test that compares migrations with the models) takes `METADATA` from here.
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
from visitdesk.desktop.models.myinfo import DemographicChange, PatientInsurance
from visitdesk.desktop.models.patient_search import PatientSearchKey
from visitdesk.desktop.models.reconcile import HeldFeedItem
from visitdesk.desktop.models.registrations import Registration
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
)

#: The complete schema of the local store (every table in `TABLES`).
METADATA: MetaData = Base.metadata
