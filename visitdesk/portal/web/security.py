"""Passwords (argon2id), signed access tokens and opaque refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import Unavailable

_TOKEN_VERSION = "v1"  # noqa: S105  (format tag)


def make_password_hasher(config: PortalConfig | None = None) -> PasswordHasher:
    """argon2id with the config's parameters (production defaults without a config)."""
    if config is None:
        fields = PortalConfig.model_fields
        return PasswordHasher(
            time_cost=fields["argon2_time_cost"].default,
            memory_cost=fields["argon2_memory_cost"].default,
            parallelism=fields["argon2_parallelism"].default,
        )
    return PasswordHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_cost,
        parallelism=config.argon2_parallelism,
    )


def default_hash_workers() -> int:
    """Half the machine's cores (at least one, at most four): the rest serve everything else."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class HashingBusy(Unavailable):
    """Every hashing slot is taken and the queue is full: the caller should retry shortly."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "The portal is busy signing people in; please try again in a few seconds.",
            {"Retry-After": str(retry_after)},
        )


class HashingGate:
    """At most ``workers`` hashes at once and ``queue`` callers waiting; others are refused.

    argon2id is memory-hard on purpose (64 MiB each by default): unbounded, a flood of sign-ins
    takes all memory and CPU from check-ins and the change feed. Bounded, the flood waits or
    gets 503 + Retry-After, and everything else keeps its share of the machine.
    """

    def __init__(self, workers: int, queue: int, wait_seconds: float) -> None:
        self.workers = workers
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._admitted = 0

    def refuse_if_full(self) -> None:
        """Answer 503 at once, before any other work, when a slot could not be had anyway.

        During a flood most sign-ins end here; without it each would first read the database
        (throttles, the account) only to be refused at the gate, taking that time from check-ins.
        """
        with self._lock:
            full = self._admitted >= self.workers + self.queue
        if full:
            raise HashingBusy(max(1, math.ceil(self.wait_seconds)))

    @contextmanager
    def slot(self) -> Iterator[None]:
        retry_after = max(1, math.ceil(self.wait_seconds))
        with self._lock:
            if self._admitted >= self.workers + self.queue:
                raise HashingBusy(retry_after)
            self._admitted += 1
        try:
            if not self._slots.acquire(timeout=self.wait_seconds):
                raise HashingBusy(retry_after)
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1


class Passwords:
    """Hashes and checks passwords; unknown users cost as much time as known ones."""

    def __init__(self, hasher: PasswordHasher, gate: HashingGate | None = None) -> None:
        self.hasher = hasher
        self.gate = gate or HashingGate(default_hash_workers(), 16, 10.0)
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        with self.gate.slot():
            return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; with no stored hash, burns the same time and fails.

        An unknown login verifies against a hash made with the same parameters and waits for
        the same gate, so neither the time nor a 503 tells known from unknown logins.
        """
        with self.gate.slot():
            try:
                self.hasher.verify(stored_hash or self._dummy_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


class TokenError(Exception):
    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """HMAC-SHA256 signed access tokens: ``v1.<claims>.<signature>``, claims in base64url JSON.

    Claims: ``typ`` (staff or patient), ``sub``, ``exp`` (unix seconds) and kind-specific ones.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the token secret must be at least 16 bytes")
        self._key = hashlib.sha256(b"visitdesk-access-token\x00" + secret).digest()

    def issue(self, token_type: str, subject: str, ttl_seconds: int, **claims: Any) -> str:
        body = {"typ": token_type, "sub": subject, "exp": int(time.time()) + ttl_seconds, **claims}
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        signing_input = f"{_TOKEN_VERSION}.{payload}"
        signature = _b64(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())
        return f"{signing_input}.{signature}"

    def verify(self, token: str, token_type: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _TOKEN_VERSION:
            raise TokenError("malformed access token")
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            given = _unb64(parts[2])
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError("malformed access token") from exc
        if not hmac.compare_digest(expected, given):
            raise TokenError("invalid access token")
        if not isinstance(claims, dict) or claims.get("typ") != token_type:
            raise TokenError("invalid access token")
        exp = claims.get("exp")
        if not isinstance(exp, int) or not isinstance(claims.get("sub"), str):
            raise TokenError("invalid access token")
        if exp <= time.time():
            raise TokenError("access token expired", expired=True)
        return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Refresh tokens carry 256 random bits, so a plain SHA-256 is a safe one-way lookup key."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Security:
    """What routes need for authentication, built once per app."""

    passwords: Passwords
    tokens: TokenSigner
