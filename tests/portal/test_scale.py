"""Scale-out behaviour: back-pressure instead of 500, long-polls that hold no connection and share
one read per change, wake-ups across workers (PostgreSQL LISTEN/NOTIFY), connection budgets.

Tests marked ``postgres`` run when VISITDESK_TEST_POSTGRES_URL names a scratch database.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures_portal import PortalFactory, PortalPractice, http_session, make_practice
from tests.portal.helpers import (
    patient_headers,
    sign_in_staff,
    staff_headers,
    tap_first_patient,
    wait_until,
)
from visitdesk.api.heap import YOUNG_THRESHOLD
from visitdesk.portal.persistence.db import (
    ConnectionBudget,
    Database,
    is_database_busy,
    plan_pool,
    server_max_connections,
)
from visitdesk.portal.persistence.longpoll import ChangeNotifier
from visitdesk.portal.web.app import ENV_CONFIG_JSON, create_app_from_env
from visitdesk.portal.web.config import DATABASE_PASSWORD_ENV, PortalConfig
from visitdesk.portal.web.server import RunningPortal

POSTGRES_URL = os.environ.get("VISITDESK_TEST_POSTGRES_URL", "")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="VISITDESK_TEST_POSTGRES_URL is not set"
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, needs_postgres]),
]

#: Feed kinds one I'm Here tap writes: the check-in and its arrival chat's thread and message.
TAP_KINDS = {"checkin", "thread", "thread_message"}


def _notifier(portal: RunningPortal) -> ChangeNotifier:
    notifier: ChangeNotifier = portal.app.state.portal.notifier
    return notifier


def _database(portal: RunningPortal) -> Database:
    db: Database = portal.app.state.portal.db
    return db


def _start(portal_factory: PortalFactory, backend: str, **overrides: Any) -> RunningPortal:
    if backend == "postgres":
        overrides["database_url"] = POSTGRES_URL
    return portal_factory.start(**overrides)


@pytest.fixture
def one_connection(
    portal_factory: PortalFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[RunningPortal, PortalPractice]]:
    backend: str = request.param
    portal = _start(
        portal_factory,
        backend,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.3,
        longpoll_recheck_seconds=30,
        retry_after_seconds=3,
    )
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=5, accounts=1)
    finally:
        db.dispose()
    yield portal, practice


def _long_poll(
    http: requests.Session, practice: PortalPractice, headers: dict[str, str], after: int
) -> requests.Response:
    return http.get(
        f"{practice.staff_url}/changes",
        params={"after": after, "wait": 20},
        headers=headers,
        timeout=30,
    )


def _tail(http: requests.Session, practice: PortalPractice, headers: dict[str, str]) -> int:
    page = http.get(
        f"{practice.staff_url}/changes", params={"limit": 5000}, headers=headers, timeout=10
    ).json()
    return int(page["last_seq"])


@pytest.mark.parametrize("one_connection", BACKENDS, indirect=True)
def test_a_saturated_pool_answers_503_with_retry_after(
    one_connection: tuple[RunningPortal, PortalPractice],
) -> None:
    portal, practice = one_connection
    with http_session(portal.ca_file) as http:
        headers = staff_headers(http, practice)
        taken = _database(portal).engine.connect()  # the portal's only pooled connection
        try:
            busy = http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10)
            ready = http.get(f"{portal.base_url}/health/ready", timeout=10)
        finally:
            taken.close()
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "3"
        assert busy.json() == {"detail": "The portal is busy; please retry shortly."}
        assert ready.status_code == 503
        assert http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10).ok
        metrics = http.get(f"{portal.base_url}/metrics", timeout=10).text
        assert 'visitdesk_busy_total{route="/api/staff/v1/changes"}' in metrics


@pytest.mark.parametrize("one_connection", BACKENDS, indirect=True)
def test_a_waiting_long_poll_holds_no_connection(
    one_connection: tuple[RunningPortal, PortalPractice],
) -> None:
    portal, practice = one_connection
    notifier, db = _notifier(portal), _database(portal)
    with http_session(portal.ca_file) as http, ThreadPoolExecutor(1) as pool:
        headers = staff_headers(http, practice)
        after = _tail(http, practice, headers)
        waiting = pool.submit(_long_poll, http_session(portal.ca_file), practice, headers, after)
        assert wait_until(lambda: notifier.stats.waiting == 1)
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        # The single connection is free for the patient's tap, which wakes the waiting desk.
        tap = tap_first_patient(http, practice)
        assert tap.status_code == 201
        page = waiting.result(timeout=10).json()
        # The tap and the arrival chat it opens, written in one commit.
        assert {item["kind"] for item in page["items"]} == TAP_KINDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_desks_waiting_on_a_practice_share_one_read_per_change(
    portal_factory: PortalFactory, backend: str
) -> None:
    portal = _start(portal_factory, backend, longpoll_recheck_seconds=30)
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=5, accounts=1)
    finally:
        db.dispose()
    notifier = _notifier(portal)
    desks = 8
    with http_session(portal.ca_file) as http, ThreadPoolExecutor(desks) as pool:
        headers = staff_headers(http, practice)
        after = _tail(http, practice, headers)
        sessions = [http_session(portal.ca_file) for _ in range(desks)]
        polls = [pool.submit(_long_poll, s, practice, headers, after) for s in sessions]
        assert wait_until(lambda: notifier.stats.waiting == desks)
        reads_before = notifier.stats.shared_reads
        tap = tap_first_patient(http, practice)
        assert tap.status_code == 201
        pages = [poll.result(timeout=10).json() for poll in polls]
        for session in sessions:
            session.close()
    assert all({i["kind"] for i in page["items"]} == TAP_KINDS for page in pages)
    assert notifier.stats.shared_reads - reads_before == 1


@pytest.mark.postgres
@needs_postgres
def test_a_sign_out_through_one_worker_ends_the_feed_on_another_at_once(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    # The feed remembers live sessions for a minute here: only the NOTIFY of the sign-out can
    # make the other worker check again.
    data_dir = tmp_path / "shared"
    first, second = (
        portal_factory.start(
            data_dir=data_dir, database_url=POSTGRES_URL, feed_session_check_seconds=60
        )
        for _ in range(2)
    )
    db = Database.from_url(POSTGRES_URL)
    try:
        practice = make_practice(db, first, patients=5, accounts=1)
    finally:
        db.dispose()
    on_second = dataclasses.replace(practice, base_url=second.base_url)
    with http_session(first.ca_file) as http:
        tokens = sign_in_staff(http, practice)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        changes = f"{practice.staff_url}/changes"
        assert http.get(changes, headers=headers, timeout=10).status_code == 200  # remembered
        signed_out = http.delete(
            f"{on_second.staff_url}/sessions/current",
            json={"refresh_token": tokens["refresh_token"]},
            headers={"Idempotency-Key": "sign-out"},
            timeout=10,
        )
        assert signed_out.status_code == 204
        assert wait_until(
            lambda: http.get(changes, headers=headers, timeout=10).status_code == 401, timeout=5
        )


@pytest.mark.postgres
@needs_postgres
def test_a_change_through_one_worker_wakes_a_long_poll_on_another(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    # Two portals on one database are two workers (or hosts); the recheck timer is far beyond
    # the wait, so only a NOTIFY can deliver the check-in in time.
    data_dir = tmp_path / "shared"
    first = portal_factory.start(
        data_dir=data_dir, database_url=POSTGRES_URL, longpoll_recheck_seconds=60
    )
    second = portal_factory.start(
        data_dir=data_dir, database_url=POSTGRES_URL, longpoll_recheck_seconds=60
    )
    db = Database.from_url(POSTGRES_URL)
    try:
        practice = make_practice(db, first, patients=5, accounts=1)
    finally:
        db.dispose()
    on_second = dataclasses.replace(practice, base_url=second.base_url)
    with http_session(first.ca_file) as http, ThreadPoolExecutor(1) as pool:
        headers = staff_headers(http, practice)
        after = _tail(http, practice, headers)
        waiting = pool.submit(_long_poll, http_session(first.ca_file), practice, headers, after)
        assert wait_until(lambda: _notifier(first).stats.waiting == 1)
        started = time.monotonic()
        tap = http.post(
            f"{on_second.patient_url}/checkins",
            json={"patient_id": practice.patients[0].patient_ids[0]},
            headers=patient_headers(http, on_second),
            timeout=10,
        )
        assert tap.status_code == 201
        page = waiting.result(timeout=15).json()
        elapsed = time.monotonic() - started
    assert {item["kind"] for item in page["items"]} == TAP_KINDS
    assert elapsed < 5  # far below the 60 s recheck: the wake-up came by NOTIFY


def _small_practice(portal: RunningPortal) -> PortalPractice:
    db = Database.from_url(POSTGRES_URL)
    try:
        return make_practice(db, portal, patients=5, accounts=1)
    finally:
        db.dispose()


def _admin() -> Any:
    """A connection of the test's own to the PostgreSQL test database (autocommit)."""
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(POSTGRES_URL).set(drivername="postgresql")
    return psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True)


@pytest.mark.postgres
@needs_postgres
def test_too_many_connections_answers_503_not_500(portal_factory: PortalFactory) -> None:
    # The database refuses new connections (SQLSTATE 53300, as when max_connections is reached):
    # requests that need one must get back-pressure, not a 500.
    portal = portal_factory.start(
        database_url=POSTGRES_URL, db_pool_size=4, db_listen=False, db_pool_timeout_seconds=0.5
    )
    practice = _small_practice(portal)
    with http_session(portal.ca_file) as http, _admin() as admin:
        headers = staff_headers(http, practice)
        _database(portal).engine.pool.dispose()  # the portal holds no connection now
        name = admin.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        admin.execute(f'ALTER DATABASE "{name}" CONNECTION LIMIT 0')  # no new sessions
        try:
            answers = [
                http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10)
                for _ in range(3)
            ]
        finally:
            admin.execute(f'ALTER DATABASE "{name}" CONNECTION LIMIT -1')
        assert [a.status_code for a in answers] == [503, 503, 503]
        assert all(a.headers["Retry-After"] for a in answers)
        assert http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10).ok


@pytest.mark.postgres
@needs_postgres
def test_connections_the_server_dropped_are_replaced_before_use(
    portal_factory: PortalFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A restart or an idle timeout kills the pooled sessions while the portal is quiet. The next
    # calls must find that out before using them: answers as usual, no 5xx.
    from visitdesk.portal.persistence import db as db_module

    portal = portal_factory.start(database_url=POSTGRES_URL, db_pool_size=4, db_listen=False)
    practice = _small_practice(portal)
    with http_session(portal.ca_file) as http, _admin() as admin:
        headers = staff_headers(http, practice)
        assert http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10).ok
        # Busy use (checked in moments ago) is not checked: one round trip fewer per request.
        pings = []
        dialect = _database(portal).engine.dialect
        monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(1) or True)
        assert http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10).ok
        assert pings == []
        monkeypatch.undo()

        pool = _database(portal).engine.pool
        assert pool.checkedin() >= 1  # type: ignore[attr-defined]
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = '' AND backend_type = 'client backend' "
            "AND state = 'idle'"
        )
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # "a while ago"
        answers = [
            http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        tap = tap_first_patient(http, practice)
        assert tap.status_code == 201


def test_pool_is_sized_from_the_budget_over_all_processes() -> None:
    url = "postgresql+psycopg://portal@db.invalid/visitdesk"
    plan = plan_pool(url, ConnectionBudget(processes=4 * 2, budget=90, extra_per_process=1))
    assert (plan.pool_size, plan.max_overflow) == (10, 0)  # 90 // 8 = 11, one for LISTEN
    plan = plan_pool(url, ConnectionBudget(processes=4, budget=90, max_overflow=2))
    assert (plan.pool_size, plan.max_overflow) == (19, 2)  # overflow counted in the budget
    assert plan_pool(url, ConnectionBudget(processes=4, pool_size=7)).pool_size == 7


@pytest.mark.postgres
@needs_postgres
def test_default_budget_reads_the_servers_max_connections() -> None:
    maximum = server_max_connections(POSTGRES_URL)
    plan = plan_pool(POSTGRES_URL, ConnectionBudget(processes=4, reserved=10))
    # All four workers, each with its LISTEN connection, fit inside max_connections - reserved.
    assert 4 * (plan.pool_size + plan.max_overflow + 1) <= maximum - 10


def test_database_password_comes_from_the_environment_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://portal@db.example/visitdesk"
    monkeypatch.setenv(DATABASE_PASSWORD_ENV, "from-env")
    config = PortalConfig(data_dir=tmp_path, database_url=url)
    assert (
        config.resolved_database_url == "postgresql+psycopg://portal:from-env@db.example/visitdesk"
    )
    secret = tmp_path / "db-password"
    secret.write_text("from-file\n", encoding="utf-8")
    config = PortalConfig(data_dir=tmp_path, database_url=url, database_password_file=secret)
    assert "portal:from-file@" in config.resolved_database_url
    assert "from-file" not in config.for_workers()  # workers read the file themselves
    assert "from-file" not in repr(config)


def test_a_worker_settles_its_collector_once_its_app_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker's start-up objects (about 180,000) are frozen: a full collection walked them all
    # every few bulk batches, half of a batch's validation time.
    threshold = gc.get_threshold()
    gc.unfreeze()
    monkeypatch.setenv(ENV_CONFIG_JSON, PortalConfig(data_dir=tmp_path).for_workers())
    try:
        app = create_app_from_env()
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 20, 20)
        app.state.portal.db.dispose()
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_busy_errors_are_told_apart_from_bugs() -> None:
    from sqlalchemy import exc

    class FakeOrig(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__("detail quoting (mrn)=(X-1)")
            self.sqlstate = sqlstate

    assert is_database_busy(exc.TimeoutError())
    assert is_database_busy(exc.OperationalError("stmt", {}, FakeOrig("53300")))
    assert is_database_busy(exc.DBAPIError("stmt", {}, FakeOrig("40001")))
    assert not is_database_busy(exc.IntegrityError("stmt", {}, FakeOrig("23505")))
    assert not is_database_busy(ValueError("x"))


def test_health_endpoints(portal_factory: PortalFactory) -> None:
    portal = portal_factory.start()
    with http_session(portal.ca_file) as http:
        assert http.get(f"{portal.base_url}/health/live", timeout=10).json() == {"status": "ok"}
        ready = http.get(f"{portal.base_url}/health/ready", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "wakeups": "ok"}


def test_outbox_depth_reported_by_a_desk_reaches_the_metrics(
    portal_factory: PortalFactory,
) -> None:
    portal = portal_factory.start()
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=5, accounts=1)
    finally:
        db.dispose()
    with http_session(portal.ca_file) as http:
        headers = {**staff_headers(http, practice), "X-VisitDesk-Outbox-Depth": "17"}
        assert http.get(f"{practice.staff_url}/changes", headers=headers, timeout=10).ok
        metrics = http.get(f"{portal.base_url}/metrics", timeout=10).text
    line = f'visitdesk_desk_outbox_depth{{practice="{practice.practice_id}"}} 17.0'
    assert line in metrics
    assert "visitdesk_request_seconds_bucket" in metrics
    assert "visitdesk_db_pool_in_use" in metrics
