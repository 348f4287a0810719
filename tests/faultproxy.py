"""A fault-injecting HTTPS proxy between the desk and the real portal, for tests and bench/faults.py.

The proxy ends TLS with the portal's own server certificate (so the desk, which trusts exactly the
portal's CA, connects to it unchanged) and opens its own verified TLS connection to the portal.
Between the two it reads HTTP/1.1 requests and answers, so a fault can aim at one call, e.g. "lose
the answer to the next POST .../sessions/refresh":

- ``drop``: the request reaches the portal, which answers; the answer is thrown away and the
  desk's connection is reset (the desk cannot know whether the portal acted).
- ``reset``: the desk's connection is reset before the request reaches the portal.
- ``delay``: the portal's answer is held for ``seconds`` (past the desk's read timeout) first.
- ``status``: the desk gets ``status`` (e.g. 503) instead; with ``forward`` the portal acts
  first, without it the portal never sees the request.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from visitdesk.portal.web.tls import CA_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE

Action = Literal["drop", "reset", "delay", "status"]

_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}
_REASONS |= {503: "Service Unavailable", 504: "Gateway Timeout"}
MAX_HEAD = 64 * 1024


@dataclass
class Fault:
    """What to do to the next `times` requests matching `method` and the `path` pattern."""

    action: Action
    method: str | None = None
    path: str = ""
    times: int = 1
    status: int = 503
    seconds: float = 0.0
    forward: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and bool(re.search(self.path, path))


@dataclass
class Hit:
    method: str
    path: str
    action: Action


@dataclass(eq=False)
class _Conn:
    client: ssl.SSLSocket
    upstream: ssl.SSLSocket | None = None
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class FaultProxy:
    """Serve on 127.0.0.1 (`base_url`) and relay to the portal at `upstream_port`, whose TLS files
    are in `tls_dir` (the portal's data_dir / "tls")."""

    def __init__(
        self, upstream_port: int, tls_dir: Path, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.upstream = (host, upstream_port)
        self.host = host
        self.hits: list[Hit] = []
        #: Requests seen, by method (faulted or not).
        self.requests: dict[str, int] = {}
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: set[_Conn] = set()
        self._server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_ctx.load_cert_chain(tls_dir / SERVER_CERT_FILE, tls_dir / SERVER_KEY_FILE)
        self._client_ctx = ssl.create_default_context(cafile=str(tls_dir / CA_FILE))
        self._listener = socket.create_server((host, port))
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with suppress(OSError):
            self._listener.close()
        self.drop_connections()
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @contextmanager
    def fault(self, fault: Fault) -> Iterator[Fault]:
        self.add(fault)
        try:
            yield fault
        finally:
            with self._lock:
                if fault in self._faults:
                    self._faults.remove(fault)

    def drop_connections(self) -> None:
        """Reset every open connection (as a network outage or a portal restart does)."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            self._close(conn)

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.times >= 0 and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    self.hits.append(Hit(method, path, fault.action))
                    return fault
        return None

    # ------------------------------------------------------------------ relaying

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self._server_ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            _reset(raw)
            return
        conn = _Conn(client)
        with self._lock:
            self._conns.add(conn)
        try:
            self._relay(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            self._close(conn)
            with self._lock:
                self._conns.discard(conn)

    def _relay(self, conn: _Conn) -> None:
        reader = conn.client.makefile("rb")
        upstream_reader: BinaryIO | None = None
        while not self._stop.is_set():
            request = _read_message(reader, is_request=True)
            if request is None:
                return
            method, path = _request_line(request)
            with self._lock:
                self.requests[method] = self.requests.get(method, 0) + 1
            fault = self._take(method, path)
            if fault is not None and fault.action == "reset":
                return
            if fault is not None and fault.action == "status" and not fault.forward:
                conn.client.sendall(_error_answer(fault.status))
                continue
            if conn.upstream is None:
                raw = socket.create_connection(self.upstream, timeout=None)
                conn.upstream = self._client_ctx.wrap_socket(raw, server_hostname=self.host)
                upstream_reader = conn.upstream.makefile("rb")
            assert upstream_reader is not None
            conn.upstream.sendall(request)
            answer = _read_message(upstream_reader, is_request=False)
            if answer is None:
                return
            if fault is None:
                conn.client.sendall(answer)
            elif fault.action == "drop":
                return
            elif fault.action == "delay":
                if self._stop.wait(fault.seconds):
                    return
                conn.client.sendall(answer)
            else:  # status after the portal acted
                conn.client.sendall(_error_answer(fault.status))
            if b"\r\nconnection: close" in answer.split(b"\r\n\r\n", 1)[0].lower():
                return

    def _close(self, conn: _Conn) -> None:
        with conn.lock:
            if conn.closed:
                return
            conn.closed = True
        _reset(conn.client)
        if conn.upstream is not None:
            with suppress(OSError):
                conn.upstream.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN: the peer sees "connection reset", as on a real outage."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.close()


def _request_line(message: bytes) -> tuple[str, str]:
    line = message.split(b"\r\n", 1)[0].decode("latin-1")
    method, target, _ = line.split(" ", 2)
    return method, target.split("?", 1)[0]


def _read_message(reader: BinaryIO, *, is_request: bool) -> bytes | None:
    """One whole HTTP/1.1 message as raw bytes (head and body), or None at end of stream."""
    head = bytearray()
    while True:
        line = reader.readline(MAX_HEAD)
        if not line:
            return None
        head += line
        if line in (b"\r\n", b"\n"):
            if len(head) <= 2:  # stray blank line between messages
                head.clear()
                continue
            break
        if len(head) > MAX_HEAD:
            raise ValueError("HTTP head too long")
    headers = {}
    for raw in bytes(head).split(b"\r\n")[1:]:
        name, sep, value = raw.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    body = bytearray()
    if headers.get(b"transfer-encoding", b"").endswith(b"chunked"):
        while True:
            size_line = reader.readline(MAX_HEAD)
            body += size_line
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailer, up to the blank line
                    trailer = reader.readline(MAX_HEAD)
                    body += trailer
                    if trailer in (b"\r\n", b"\n", b""):
                        break
                break
            body += _read_exactly(reader, size + 2)
    elif b"content-length" in headers:
        body += _read_exactly(reader, int(headers[b"content-length"]))
    elif not is_request:
        status = int(bytes(head).split(b" ", 2)[1])
        if status >= 200 and status not in (204, 304):
            body += reader.read()
    return bytes(head) + bytes(body)


def _read_exactly(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise ValueError("connection closed mid-message")
    return data


def _error_answer(status: int) -> bytes:
    body = b'{"detail": "injected fault"}'
    reason = _REASONS.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
    )
    if status == 429:
        head += "retry-after: 1\r\n"
    return head.encode("ascii") + b"\r\n" + body
