"""A desk store written by the release before the staff-command catalogue (commit d9b6e98).

`tests/desktop/models/data/store-d9b6e98.sqlite3.gz` (gzipped) was made by that release through its own API:
a patients, an appointments and a ledger CSV import (one upload each), a check-in acknowledged,
one registration matched and one rejected, and the rejection parked as refused by the portal. Its
outbox holds six items as that release wrote them: a method and a hand-built URL each.

After the upgrade every item is a catalogue command with its path parameters, in the same order
with the same idempotency key, and the pending ones are sent to a real portal.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.fixtures_portal import PortalPractice
from tests.sync.portal_helpers import staff_client
from visitdesk.api.commands import REVOKE_SECURITY_CODE
from visitdesk.api.wire_feed import batch_of
from visitdesk.desktop.models import LocalStore, migrate
from visitdesk.desktop.models import registrations as desk_registrations
from visitdesk.sync.engine import SyncEngine

RELEASE_STORE = Path(__file__).resolve().parents[1] / "desktop" / "models" / "data"
RELEASE_STORE = RELEASE_STORE / "store-d9b6e98.sqlite3.gz"


@pytest.fixture
def release_store(tmp_path: Path) -> Path:
    path = tmp_path / "visitdesk.sqlite3"
    with gzip.open(RELEASE_STORE) as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return path


def _old_rows(path: Path) -> list[tuple[int, str, str, str, int]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(
            "SELECT id, method, path, idempotency_key, failed FROM outbox ORDER BY id"
        ).fetchall()


def test_queued_items_become_catalogue_commands(release_store: Path) -> None:
    old = _old_rows(release_store)
    assert migrate.current_revision(release_store) == "0004"
    assert [(method, path) for _, method, path, _, _ in old] == [
        ("PUT", "/api/staff/v1/patients"),
        ("PUT", "/api/staff/v1/appointments"),
        ("PUT", "/api/staff/v1/ledger"),
        ("POST", "/api/staff/v1/checkins/CK-UPG-1/status"),
        ("POST", "/api/staff/v1/registrations/RG-UPG-1/match"),
        ("POST", "/api/staff/v1/registrations/RG-UPG-2/reject"),
    ]

    with LocalStore.open(release_store) as store:
        pending = store.pending_outbox_items()
        failed = store.failed_outbox_items()
        assert [(i.command, i.params) for i in pending] == [
            ("upsert_patients", {}),
            ("upsert_appointments", {}),
            ("upsert_ledger", {}),
            ("set_checkin_status", {"checkin_id": "CK-UPG-1"}),
            ("match_registration", {"registration_id": "RG-UPG-1"}),
        ]
        assert [(i.command, i.params) for i in failed] == [
            ("reject_registration", {"registration_id": "RG-UPG-2"})
        ]
        items = sorted(pending + failed, key=lambda i: i.id)
        assert [(i.id, i.idempotency_key, int(i.failed)) for i in items] == [
            (row_id, key, failed_flag) for row_id, _, _, key, failed_flag in old
        ]
        assert pending[0].body is not None and len(pending[0].body["patients"]) == 2
        assert pending[3].body == {"status": "acknowledged"}
        assert failed[0].last_error == "The portal refused this registration decision (409)."
        # The match taken before the upgrade still hides its registration; the refused rejection
        # brings its registration back, marked.
        with store.read() as session:
            queue = desk_registrations.queue(session)
        assert [(row.id, row.decision_refused) for row in queue] == [("RG-UPG-2", True)]
        assert store.checkin("CK-UPG-1").status_changed_by == "Front Desk"  # type: ignore[union-attr]

        # Ids keep counting from where the release stopped, even after the newest item is gone.
        store.outbox_sent(failed[0].id, None)
        newer = store.enqueue(REVOKE_SECURITY_CODE, {"code_id": "S1"}, None, "Revoke code")
        assert newer.id == old[-1][0] + 1
    assert migrate.current_revision(release_store) == migrate.head_revision()
    assert len(list(release_store.parent.glob("visitdesk.sqlite3.0004.*.bak"))) == 1


def test_unknown_old_items_are_parked_not_lost(release_store: Path) -> None:
    with closing(sqlite3.connect(release_store)) as conn, conn:
        conn.execute("UPDATE outbox SET path = '/api/staff/v1/threads/T1/close' WHERE id = 4")
    with LocalStore.open(release_store) as store:
        parked = [i for i in store.failed_outbox_items() if i.id == 4]
    assert len(parked) == 1
    assert parked[0].command == "unknown" and "older VisitDesk" in (parked[0].last_error or "")


def test_queued_items_are_sent_after_the_upgrade(
    release_store: Path, practice: PortalPractice
) -> None:
    client = staff_client(practice, "manager")
    with LocalStore.open(release_store) as store:
        engine = SyncEngine(client, store)
        try:
            assert engine.push_once() == 3  # the uploads; the unknown ids are refused for good
        finally:
            engine.stop()
        assert store.outbox_pending_count() == 0
        refused = {i.command: i.last_error for i in store.failed_outbox_items()}
    # The portal's own words: the calls reached the right routes and named records it lacks.
    assert refused == {
        "set_checkin_status": "No such check-in.",
        "match_registration": "No such registration in this practice.",
        "reject_registration": "The portal refused this registration decision (409).",
    }
    page = client.get_changes(0, 5000, 0)
    mrns = {i.data.get("mrn") for i in page.items if i.kind == "patient"}
    assert {"UPG-1", "UPG-2"} <= mrns
    kinds = {(i.kind, i.data.get("external_id")) for i in page.items}
    assert ("appointment", "A-UPG-1") in kinds
    # The release's queued batch (one object per line) is fed as the portal writes a batch now.
    lines = [batch_of(i) for i in page.items if i.kind == "ledger_columns"]
    assert "L-UPG-1" in {line_id for batch in lines for line_id in batch.lines.external_id}
    client.close()
