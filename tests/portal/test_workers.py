"""``visitdesk-portal serve --workers N`` on PostgreSQL: connections spread over the workers, and a
change made through one worker reaches long-polls waiting on the others (LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.fixtures_portal import http_session, make_practice
from tests.portal.helpers import staff_headers, tap_first_patient, wait_until
from tests.portal.test_cli import REPO, _cli, _env
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.config import DATABASE_PASSWORD_ENV

POSTGRES_URL = os.environ.get("VISITDESK_TEST_POSTGRES_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="VISITDESK_TEST_POSTGRES_URL is not set"),
]


@pytest.fixture
def four_workers(tmp_path: Path) -> Iterator[dict[str, Any]]:
    url = make_url(POSTGRES_URL)
    settings = tmp_path / "settings.json"
    # A recheck far beyond the test: only NOTIFY can wake the other workers' long-polls in time.
    settings.write_text(json.dumps({"longpoll_recheck_seconds": 120}), encoding="utf-8")
    ready = tmp_path / "ready.json"
    env = {**_env(), DATABASE_PASSWORD_ENV: url.password or ""}
    bare_url = f"{url.drivername}://{url.username}@{url.host}:{url.port or 5432}/{url.database}"
    process = subprocess.Popen(
        _cli(
            "serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
            "--ready-file", str(ready), "--workers", "4", "--database-url", bare_url,
            "--settings", str(settings),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )  # fmt: skip
    try:
        assert wait_until(lambda: ready.exists() or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.communicate()[1]
        info = json.loads(ready.read_text())
        yield info
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        assert "visitdesk-ci" not in stderr  # the password never reaches a log


def _ready(info: dict[str, Any]) -> bool:
    try:
        with http_session(info["ca_file"]) as http:
            return http.get(f"{info['url']}/health/ready", timeout=5).status_code == 200
    except OSError:
        return False


def test_a_change_through_one_worker_reaches_long_polls_on_the_others(
    four_workers: dict[str, Any],
) -> None:
    info = four_workers
    # Every worker is up once a run of fresh connections all find a ready worker.
    assert wait_until(lambda: all(_ready(info) for _ in range(12)), timeout=60)
    db = Database.from_url(POSTGRES_URL)
    try:
        portal = SimpleNamespace(base_url=info["url"], ca_file=Path(info["ca_file"]))
        practice = make_practice(db, portal, patients=5, accounts=1)  # type: ignore[arg-type]
    finally:
        db.dispose()
    desks = 12
    with http_session(info["ca_file"]) as http, ThreadPoolExecutor(desks) as pool:
        headers = staff_headers(http, practice)
        after = http.get(f"{practice.staff_url}/changes", params={"limit": 5000},
                         headers=headers, timeout=10).json()["last_seq"]  # fmt: skip

        def long_poll(_: int) -> tuple[list[str], float]:
            with http_session(info["ca_file"]) as own:  # a new connection per desk
                page = own.get(
                    f"{practice.staff_url}/changes",
                    params={"after": after, "wait": 25},
                    headers=headers,
                    timeout=40,
                ).json()
            return [item["kind"] for item in page["items"]], time.monotonic()

        polls = [pool.submit(long_poll, n) for n in range(desks)]

        def all_waiting() -> bool:
            text = http.get(f"{info['url']}/metrics", timeout=10).text
            match = re.search(r"^visitdesk_longpolls_open (\S+)$", text, re.MULTILINE)
            return match is not None and float(match.group(1)) >= desks

        assert wait_until(all_waiting, timeout=20)
        tapped = time.monotonic()
        tap = tap_first_patient(http, practice)
        assert tap.status_code == 201
        results = [poll.result(timeout=40) for poll in polls]
        metrics = http.get(f"{info['url']}/metrics", timeout=10).text
    # The check-in and its arrival chat's thread and first message, from one commit.
    assert all(set(kinds) == {"checkin", "thread", "thread_message"} for kinds, _ in results)
    assert max(done for _, done in results) - tapped < 5  # not the 120 s recheck
    # SO_REUSEPORT spread the desks' connections: several workers served requests.
    workers = set(re.findall(r'visitdesk_db_pool_in_use\{pid="(\d+)"\}', metrics))
    assert len(workers) >= 2, metrics
