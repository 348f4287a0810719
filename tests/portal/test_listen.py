"""The worker's LISTEN connection: delivers NOTIFYs of feed writes and reconnects by itself."""

from __future__ import annotations

import os
import threading
import uuid

import psycopg
import pytest

from tests.portal.helpers import wait_until
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.listen import FeedListener, libpq_url
from visitdesk.portal.persistence.models import Practice

POSTGRES_URL = os.environ.get("VISITDESK_TEST_POSTGRES_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="VISITDESK_TEST_POSTGRES_URL is not set"),
]


def mine(heard: list[str], practice_id: str) -> list[str]:
    """Notifications of this test's practice (other tests' and benchmarks' writes are heard too)."""
    return [payload for payload in heard if payload == practice_id]


def test_listener_hears_commits_only_and_reconnects_after_losing_its_connection() -> None:
    heard: list[str] = []
    connects = threading.Semaphore(0)
    listener = FeedListener(POSTGRES_URL, heard.append, connects.release)
    listener.start()
    db = Database.from_url(POSTGRES_URL)
    try:
        db.migrate_schema()  # the test may run first on a new database
        assert connects.acquire(timeout=10)
        practice_id = str(uuid.uuid4())
        with db.write() as session:
            session.add(Practice(id=practice_id, code=f"ls{practice_id[:8]}", name="Listen"))
        with pytest.raises(RuntimeError), db.write() as session:
            append_changes(session, practice_id, [NewChange("probe", "rolled-back", "{}")])
            raise RuntimeError("rolled back: no NOTIFY")
        with db.write() as session:
            append_changes(session, practice_id, [NewChange("probe", "kept", "{}")])
        assert wait_until(lambda: mine(heard, practice_id) == [practice_id], timeout=10)

        # The server drops the listening session (restart, failover, idle kill).
        with psycopg.connect(libpq_url(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN visitdesk_feed' AND datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        assert connects.acquire(timeout=30)  # back by itself; waiters are woken on reconnect
        assert listener.reconnects >= 1
        with db.write() as session:
            append_changes(session, practice_id, [NewChange("probe", "after", "{}")])
        assert wait_until(lambda: mine(heard, practice_id) == [practice_id] * 2, timeout=10)
    finally:
        listener.stop()
        db.dispose()
