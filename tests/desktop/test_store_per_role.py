"""A workstation keeps one local store per role: after billing worked here, a front-desk sign-in
opens a store without ledgers or payments (the real portal over TLS, real SQLite files)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tests.fixtures_portal import PortalPractice
from visitdesk.desktop import session as sessions
from visitdesk.desktop.models.billing import LedgerLine
from visitdesk.desktop.models.paths import shared_store_path_for
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.settings import Settings
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import SyncEngine


def _sign_in(data_dir: Path, practice: PortalPractice, role: str) -> sessions.OpenSession:
    staff = practice.staff[role]
    return sessions.sign_in(
        data_dir,
        practice.base_url,
        practice.practice_code,
        staff.username,
        staff.password,
        practice.ca_file,
        MemoryTokenStore(),
    )


def _synced_ledger_lines(opened: sessions.OpenSession) -> int:
    try:
        assert SyncEngine(opened.client, opened.store, wait_seconds=0).sync_until_idle(30)
        with opened.store.read() as session:
            return int(session.scalar(select(func.count()).select_from(LedgerLine)) or 0)
    finally:
        opened.client.close()
        opened.store.close()


def test_another_role_on_the_same_workstation_opens_its_own_store(
    practice: PortalPractice, tmp_path: Path
) -> None:
    billing = _sign_in(tmp_path, practice, "billing")
    billing_path = billing.store.path
    assert _synced_ledger_lines(billing) > 0

    desk = _sign_in(tmp_path, practice, "front_desk")
    assert desk.store.path != billing_path and billing_path.exists()
    assert desk.store.last_seq() == 0  # the feed starts from the beginning for this role
    assert _synced_ledger_lines(desk) == 0

    again = _sign_in(tmp_path, practice, "billing")
    assert again.store.path == billing_path
    again.client.close()
    again.store.close()


def test_a_shared_store_from_an_older_release_goes_to_the_role_that_used_it(
    practice: PortalPractice, tmp_path: Path
) -> None:
    billing = _sign_in(tmp_path, practice, "billing")
    path = billing.store.path
    billing.client.close()
    billing.store.close()
    shared = shared_store_path_for(tmp_path, practice.base_url, practice.practice_code)
    path.replace(shared)  # as an older release left it: one file, last used by billing

    desk = _sign_in(tmp_path, practice, "front_desk")
    assert desk.store.path != shared and shared.exists()  # not front desk's to take
    desk.client.close()
    desk.store.close()

    adopted = _sign_in(tmp_path, practice, "billing")
    assert adopted.store.path == path and not shared.exists()
    adopted.client.close()
    adopted.store.close()
    with LocalStore.open(path) as store:
        assert store.get_state(sessions.STAFF_KEY) is not None


def test_offline_the_desk_opens_the_last_role_s_store(
    practice: PortalPractice, tmp_path: Path
) -> None:
    billing = _sign_in(tmp_path, practice, "billing")
    path = billing.store.path
    billing.store.close()
    settings = Settings(
        portal_url=practice.base_url,
        practice_code=practice.practice_code,
        username=practice.staff["billing"].username,
        role="billing",
    )
    opened = sessions._open_offline(billing.client, tmp_path, settings, practice.ca_file)
    assert opened is not None and opened.store.path == path
    assert opened.staff.role == "billing"
    opened.store.close()
    unknown_role = Settings(**{**settings.__dict__, "role": ""})
    assert sessions._open_offline(billing.client, tmp_path, unknown_role, practice.ca_file) is None
    billing.client.close()
