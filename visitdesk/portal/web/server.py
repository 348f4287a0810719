"""Serving the portal over TLS with uvicorn: in a background thread (tests, the demo) or the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from visitdesk.portal.persistence.longpoll import ChangeNotifier
from visitdesk.portal.web.app import create_app
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.logs import install_access_log_filter
from visitdesk.portal.web.tls import TlsFiles, ensure_tls

log = logging.getLogger(__name__)

#: Longest a shutdown waits for in-flight requests before cancelling them.
GRACEFUL_SHUTDOWN_SECONDS = 5
_START_TIMEOUT = 30.0


def bind_socket(
    host: str, port: int, *, reuse_port: bool = False, listen: bool = True
) -> socket.socket:
    """A TCP socket bound to host:port (port 0: the OS picks a free one), listening by default.

    ``reuse_port`` lets several worker processes bind the same port, each with its own queue.
    """
    family = socket.AF_INET
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host.strip("[]")).version == 6:
            family = socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host.strip("[]"), port))
        if listen:
            sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def url_host(host: str) -> str:
    """The host as it appears in a URL; clients of a wildcard bind use loopback."""
    if host in ("0.0.0.0", ""):  # noqa: S104
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def find_notifier(app: Any) -> ChangeNotifier | None:
    """The app's change notifier, looking through ASGI wrappers that keep the inner app in ``.app``."""
    seen = 0
    while app is not None and seen < 20:
        state = getattr(getattr(app, "state", None), "portal", None)
        if state is not None:
            return getattr(state, "notifier", None)
        app = getattr(app, "app", None)
        seen += 1
    return None


def find_config(app: Any) -> PortalConfig | None:
    seen = 0
    while app is not None and seen < 20:
        config = getattr(getattr(app, "state", None), "portal_config", None)
        if isinstance(config, PortalConfig):
            return config
        app = getattr(app, "app", None)
        seen += 1
    return None


class PortalServer(uvicorn.Server):
    """uvicorn's server, plus: release long-polls at once on shutdown, and a started callback."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit and self._on_started is not None:
            self._on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Idle keep-alive connections are closed first. Over TLS a close waits for the client's
        # close_notify, which an idle pooled client never sends; abort those after a short grace
        # so shutdown does not stall for the graceful timeout. Stop accepting first.
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        await asyncio.sleep(0.2)
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None and transport.is_closing():
                transport.abort()
        await super().shutdown(sockets=sockets)

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self.release_waiters()

    def request_stop(self) -> None:
        self.should_exit = True
        self.release_waiters()

    def release_waiters(self) -> None:
        notifier = find_notifier(self.config.app)
        if notifier is not None:
            notifier.close()


#: TLS 1.2 suites offered: forward-secret AEAD only (no CBC, no RSA key exchange). TLS 1.3's
#: suites are all AEAD and configured by OpenSSL separately.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class PortalUvicornConfig(uvicorn.Config):
    """uvicorn's config with the portal's TLS floor: 1.2 at least, AEAD suites only."""

    def load(self) -> None:
        super().load()
        if self.ssl is not None:
            self.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
            self.ssl.set_ciphers(TLS12_CIPHERS)


def uvicorn_config(app: Any, tls: TlsFiles, **overrides: Any) -> uvicorn.Config:
    install_access_log_filter()
    options: dict[str, Any] = {
        "ssl_certfile": str(tls.cert_file),
        "ssl_keyfile": str(tls.key_file),
        "log_config": None,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "server_header": False,
        # uvicorn would believe X-Forwarded-For from loopback; the app decides whom to trust.
        "proxy_headers": False,
        "lifespan": "on",
    }
    options.update(overrides)
    return PortalUvicornConfig(app, **options)


@dataclass
class RunningPortal:
    """A portal serving HTTPS on a background thread."""

    base_url: str
    port: int
    ca_file: Path
    config: PortalConfig
    app: Any
    _server: PortalServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 15.0) -> None:
        """Shut down (in-flight long-polls end with an empty page) and join the thread."""
        self._server.request_stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._server.started and not self._server.should_exit


def start_in_thread(
    config_or_app: PortalConfig | Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    config: PortalConfig | None = None,
) -> RunningPortal:
    """Serve the portal over TLS on a daemon thread; returns once it accepts connections.

    ``config_or_app`` is a PortalConfig (the app is built from it) or a prebuilt ASGI app (e.g. the
    real app wrapped in a test middleware); for an app, the config comes from ``config`` or from
    the wrapped portal app. ``port`` may be fixed, to restart a portal where clients expect it.
    """
    if isinstance(config_or_app, PortalConfig):
        config = config_or_app
        app: Any = create_app(config)
    else:
        app = config_or_app
        config = config or find_config(app)
        if config is None:
            raise ValueError("pass config= for an app that does not carry a PortalConfig")
    tls = ensure_tls(config.data_dir / "tls", host)
    sock = bind_socket(host, port)
    actual_port = int(sock.getsockname()[1])
    server = PortalServer(uvicorn_config(app, tls, access_log=False))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the starting thread
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"portal-{actual_port}", daemon=True)
    thread.start()
    waiter = threading.Event()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.request_stop()
            thread.join(5)
            detail = repr(failure[0]) if failure else "did not start in time"
            raise RuntimeError(f"portal failed to start: {detail}")
        waiter.wait(0.01)
    return RunningPortal(
        base_url=f"https://{url_host(host)}:{actual_port}",
        port=actual_port,
        ca_file=tls.ca_file,
        config=config,
        app=app,
        _server=server,
        _thread=thread,
    )
