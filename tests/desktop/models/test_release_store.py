"""A local store made by the release before the store's modules were reorganised still opens,
migrates and works.

`data/release-store.sqlite3` was written by the release's own code (commit d9b6e98 of main):
two patients, an appointment, a check-in, a security code, a registration in the queue, a ledger
line, an outbox item, statement settings and an account hold.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from visitdesk.api.wire import CheckInStatus
from visitdesk.desktop.models import LocalStore, billing, codes, registrations

RELEASE_STORE = Path(__file__).parent / "data" / "release-store.sqlite3"


def test_a_release_store_opens_and_works(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    shutil.copyfile(RELEASE_STORE, path)
    with LocalStore.open(path) as store:
        assert store.last_seq() == 7
        assert (store.patient_count(), store.appointment_count(), store.checkin_count()) == (
            2,
            1,
            1,
        )
        day = datetime(2024, 3, 4, tzinfo=UTC)
        (arrival,) = store.checkins_for_day(day, day.replace(day=5))
        assert arrival.id == "C1"
        with store.read() as session:
            (code,) = codes.list_codes(session)
            assert (code.id, code.patient_name) == ("S1", "Lee, Ann")
            assert [row.id for row in registrations.queue(session)] == ["R1"]
            (account,) = billing.accounts(session, date(2024, 3, 4))
            assert (account.guarantor_mrn, account.balance_cents) == ("M1", 12500)
            assert billing.load_settings(session).ready
            assert [hold.guarantor_mrn for hold in billing.holds(session)] == ["M2"]
        # The release stored a method and a URL; the upgrade turned it into a catalogue command.
        assert [(item.command, item.params) for item in store.pending_outbox_items()] == [
            ("set_checkin_status", {"checkin_id": "C1"})
        ]
        # New writes go through as before: a status change and its outbox item, together.
        item = store.set_checkin_status("C1", CheckInStatus.ROOMED, "Front Desk")
        assert item.id > store.pending_outbox_items()[0].id
    with LocalStore.open(path) as again:
        assert again.checkin("C1").status == CheckInStatus.ROOMED.value  # type: ignore[union-attr]
