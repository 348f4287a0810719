"""Several worker processes behind one port, with connections spread evenly over them.

uvicorn's own multi-worker mode binds one listening socket in the parent and hands it to every
worker; all workers ``accept()`` from that one queue, and under a burst the kernel hands most new
connections to whichever worker is awake (measured: desks per worker 32/13/5/0). Here each worker
binds its own socket to the same port with ``SO_REUSEPORT``: the kernel then hashes each new
connection to one of the listening sockets, so long-lived desk connections spread evenly.

The parent reserves the port with a bound socket that never listens (so it receives no
connections) and runs uvicorn's supervisor (restarts, signals) with worker processes that use
their own sockets. Where ``SO_REUSEPORT`` is missing (Windows), the shared socket is used.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess

from visitdesk.portal.web.server import PortalServer, bind_socket

HAS_REUSEPORT = hasattr(socket, "SO_REUSEPORT")


class ReusePortProcess(multiprocess.Process):
    """A worker that listens on its own SO_REUSEPORT socket and serves with PortalServer."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = PortalServer(config=self.config)
        return self._server

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        if HAS_REUSEPORT:
            for inherited in sockets or []:
                inherited.close()  # the parent's placeholder: never listened on
            sockets = [bind_socket(self.config.host, self.config.port, reuse_port=True)]
        threading.Thread(target=self.always_pong, daemon=True).start()
        self.server.run(sockets)


def reserve_port(host: str, port: int) -> socket.socket:
    """The parent's socket: with SO_REUSEPORT bound but not listening, else the shared one."""
    if HAS_REUSEPORT:
        return bind_socket(host, port, reuse_port=True, listen=False)
    return bind_socket(host, port)


def run_workers(config: uvicorn.Config, placeholder: socket.socket) -> None:
    """Run ``config.workers`` processes until a signal stops them (blocking)."""
    # uvicorn's supervisor creates its workers through this module-level name.
    original: Any = multiprocess.Process
    multiprocess.Process = ReusePortProcess  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[placeholder]).run()
    finally:
        multiprocess.Process = original  # type: ignore[misc]


def metrics_dir(data_dir: Path) -> Path:
    """A fresh directory for the workers' shared Prometheus files (stale files are removed)."""
    directory = data_dir / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    return directory
