"""One LISTEN connection per worker process: wake-ups across workers and hosts on PostgreSQL.

Feed writers send ``NOTIFY visitdesk_feed, '<practice id>'`` in their transaction (see
:mod:`visitdesk.portal.persistence.feed`); PostgreSQL delivers it at commit to every listening
session. This module keeps one such session per worker, on a daemon thread with its own psycopg
connection outside the pool, and passes each practice id to the worker's
:class:`~visitdesk.portal.persistence.longpoll.ChangeNotifier`.

The connection reconnects by itself with growing pauses; after each (re)connect every waiter is
woken once, because notifications sent while it was down are lost (the waiters re-read the feed,
so nothing is missed). LISTEN needs a session: behind PgBouncer in transaction mode, point
``listen_database_url`` at PostgreSQL directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from visitdesk.portal.persistence.feed import FEED_CHANNEL

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
_MAX_PAUSE_SECONDS = 10.0


def libpq_url(sqlalchemy_url: str) -> str:
    """A libpq connection URI from a SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class FeedListener:
    """LISTENs on the feed channel on a background thread until :meth:`stop`."""

    def __init__(
        self,
        url: str,
        on_change: Callable[[str], None],
        on_connected: Callable[[], None],
        connect_timeout: float = 5.0,
    ) -> None:
        self._conninfo = libpq_url(url)
        self._on_change = on_change
        self._on_connected = on_connected
        self._connect_timeout = connect_timeout
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-listener", daemon=True)
        self.notifications = 0
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        pause = 0.25
        while not self._stop.is_set():
            try:
                self._listen()
                pause = 0.25
            except (psycopg.Error, OSError) as exc:
                # The class only: a connection error can quote the host and user name.
                log.warning("feed listener disconnected: %s; reconnecting", type(exc).__name__)
            finally:
                self._connected.clear()
            if self._stop.wait(pause):
                break
            pause = min(pause * 2, _MAX_PAUSE_SECONDS)
            self.reconnects += 1

    def _listen(self) -> None:
        with psycopg.Connection.connect(
            self._conninfo, autocommit=True, connect_timeout=int(self._connect_timeout)
        ) as conn:
            conn.execute(f"LISTEN {FEED_CHANNEL}")
            self._connected.set()
            self._on_connected()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=_POLL_SECONDS):
                    self.notifications += 1
                    self._on_change(note.payload)
                    if self._stop.is_set():
                        break
