"""Make a real LocalStore unwritable from outside, as a full or read-only disk does.

Tests run as root, for whom file permissions do not stop a write, and there is no small
filesystem to fill. SQLite itself can refuse, though: every transaction of the store's engine
starts with `PRAGMA query_only` (SQLite then answers "attempt to write a readonly database") and
`PRAGMA max_page_count` capped at the file's current size (a write that needs a new page gets
"database or disk is full"). The store's own code runs unchanged and sees SQLite's real errors.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from visitdesk.desktop.models.store import LocalStore

#: SQLite's own ceiling for max_page_count.
NO_CAP = 4_294_967_294


class StoreFaults:
    def __init__(self, store: LocalStore) -> None:
        self.read_only = False
        self.full = False
        self._engine = store.engine
        event.listen(self._engine, "begin", self._on_begin)

    def remove(self) -> None:
        self.read_only = self.full = False
        event.remove(self._engine, "begin", self._on_begin)

    def _on_begin(self, conn: Any) -> None:
        # Runs after the store's own listener has issued BEGIN, on every pooled connection.
        conn.exec_driver_sql(f"PRAGMA query_only = {1 if self.read_only else 0}")
        if self.full:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {int(pages)}")
        else:
            conn.exec_driver_sql(f"PRAGMA max_page_count = {NO_CAP}")
