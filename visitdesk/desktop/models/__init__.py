"""The desktop's local store: SQLite through SQLAlchemy, migrated by Alembic; no Qt here.

The composition root opens one `LocalStore` and hands it to the sync engine (as its `SyncStore`)
and to the views' background workers.
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
