"""Errors of the local store, split the way the user needs them.

`StoreUnavailableError` is "not our fault": the disk is full, the file is locked by another program,
corrupt, read-only, or from a newer VisitDesk. Its message is written for the person at the desk.
Anything else escaping the store is a bug.
"""

from __future__ import annotations

from visitdesk.sync.store import StoreUnavailable


class StoreError(Exception):
    """Base class of the local store's errors."""


class StoreUnavailableError(StoreError, StoreUnavailable):
    """The database cannot be used right now (disk full, locked, corrupt, newer schema...)."""


class NotFoundError(StoreError, LookupError):
    """A record the caller named is not in the local store."""
