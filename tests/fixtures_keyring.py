"""Keyring fixtures: every test gets a fresh in-memory keyring, never the real system one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.backends.fail
import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps secrets in a dict (inspectable by tests)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.secrets[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


@contextmanager
def _swapped_keyring(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    # Read the private slot instead of keyring.get_keyring() so we never probe the real system.
    previous = getattr(keyring.core, "_keyring_backend", None)
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        if previous is None:
            keyring.core._keyring_backend = None
        else:
            keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    with _swapped_keyring(backend):
        yield backend


@pytest.fixture
def no_keyring(memory_keyring: MemoryKeyring) -> Iterator[KeyringBackend]:
    """No usable keyring on this computer (keyring's own 'fail' backend)."""
    with _swapped_keyring(keyring.backends.fail.Keyring()) as backend:
        yield backend
