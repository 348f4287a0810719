"""The desktop's local store: SQLite through SQLAlchemy, migrated by Alembic; no Qt here.

The composition root opens one `LocalStore` and hands it to the sync engine (as its `SyncStore`)
and to the desk's operations (`visitdesk.desktop.ops`).

**One transaction rule.** The feature modules' queries and changes (`board`, `codes`,
`registrations`, `patient_search`, `billing`, `outbox`, `state`, `feed`) take a `Session` and never
open, commit or roll back a transaction: the caller decides what belongs together. *Operations*
open the transactions, with `LocalStore.read()` (one consistent snapshot) or `LocalStore.write()`
(one serialised write transaction, committed at the end): the `LocalStore`'s own methods (the sync
engine's `SyncStore` API and a few one-call conveniences), the CSV importers (which check a whole
file before writing it in one transaction), and the desk's ops.

The tables are listed in `tables.TABLES`, the feed's appliers, in the order they run, in
`feed.APPLIERS`; importing a module registers nothing.
"""

from visitdesk.desktop.models.board import CheckInRow
from visitdesk.desktop.models.csv_import import (
    ImportReport,
    import_appointments_csv,
    import_patients_csv,
)
from visitdesk.desktop.models.csv_read import RowError
from visitdesk.desktop.models.errors import NotFoundError, StoreError, StoreUnavailableError
from visitdesk.desktop.models.paths import default_data_dir, store_path_for
from visitdesk.desktop.models.store import LocalStore, PracticeMeta, UnitOfWork

__all__ = [
    "CheckInRow",
    "ImportReport",
    "LocalStore",
    "NotFoundError",
    "PracticeMeta",
    "RowError",
    "StoreError",
    "StoreUnavailableError",
    "UnitOfWork",
    "default_data_dir",
    "import_appointments_csv",
    "import_patients_csv",
    "store_path_for",
]
