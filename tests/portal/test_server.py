"""Serving in a thread: wrapped apps, fixed ports, clean stops."""

from __future__ import annotations

import threading
import time
from typing import Any

from starlette.types import Receive, Scope, Send

from tests.fixtures_portal import PortalFactory, http_session, make_practice
from tests.portal.helpers import staff_headers
from visitdesk.portal.persistence.db import Database


class FailFirst:
    """ASGI wrapper answering 500 to the first ``count`` requests for ``path``."""

    def __init__(self, app: Any, path: str, count: int) -> None:
        self.app = app
        self.path = path
        self.remaining = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and self.remaining > 0:
            self.remaining -= 1
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def test_wrapped_app_and_restart_on_the_same_port(portal_factory: PortalFactory) -> None:
    portal = portal_factory.start(wrap=lambda app: FailFirst(app, "/openapi.json", 1))
    with http_session(portal.ca_file) as http:
        assert http.get(f"{portal.base_url}/openapi.json", timeout=10).status_code == 500
        assert http.get(f"{portal.base_url}/openapi.json", timeout=10).status_code == 200
    portal.stop()
    assert not portal.running

    again = portal_factory.start(data_dir=portal.config.data_dir, port=portal.port)
    assert again.base_url == portal.base_url
    assert again.ca_file.read_bytes() == portal.ca_file.read_bytes()
    with http_session(again.ca_file) as http:
        assert http.get(f"{again.base_url}/openapi.json", timeout=10).status_code == 200


def test_stop_releases_a_waiting_long_poll_quickly(portal_factory: PortalFactory) -> None:
    portal = portal_factory.start(longpoll_recheck_seconds=10)
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=20, accounts=1)
    finally:
        db.dispose()
    result: dict[str, Any] = {}
    with http_session(portal.ca_file) as http:
        headers = staff_headers(http, practice)

        def poll() -> None:
            with http_session(portal.ca_file) as inner:
                result["status"] = inner.get(
                    f"{practice.staff_url}/changes",
                    params={"after": 10**9, "wait": 30},
                    headers=headers,
                    timeout=40,
                ).status_code

        poller = threading.Thread(target=poll)
        poller.start()
        threading.Event().wait(0.3)
        began = time.monotonic()
        portal.stop()
        poller.join(10)
    assert time.monotonic() - began < 5
    assert result.get("status") == 200
