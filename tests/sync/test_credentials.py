"""Where the refresh token is kept: the keyring when usable, memory otherwise."""

from __future__ import annotations

import keyring
import keyring.backends.chainer
import keyring.backends.null
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from tests.fixtures_keyring import MemoryKeyring
from visitdesk.sync.credentials import (
    NO_KEYRING_WARNING,
    SERVICE,
    KeyringTokenStore,
    MemoryTokenStore,
    open_token_store,
)


def test_keyring_store_round_trip(memory_keyring: MemoryKeyring) -> None:
    store, warning = open_token_store("portal.example/clinic/alice")
    assert warning is None
    assert isinstance(store, KeyringTokenStore)
    assert store.get() is None
    store.set("refresh-1")
    assert store.get() == "refresh-1"
    assert memory_keyring.secrets == {(SERVICE, "portal.example/clinic/alice"): "refresh-1"}
    store.set("refresh-2")
    assert store.get() == "refresh-2"
    store.delete()
    assert store.get() is None
    store.delete()  # deleting twice is fine
    assert memory_keyring.secrets == {}


def test_accounts_are_kept_apart(memory_keyring: MemoryKeyring) -> None:
    alice, _ = open_token_store("p/clinic/alice")
    bob, _ = open_token_store("p/clinic/bob")
    alice.set("a")
    bob.set("b")
    assert (alice.get(), bob.get()) == ("a", "b")


def test_no_keyring_gives_memory_store_and_plain_warning(no_keyring: KeyringBackend) -> None:
    store, warning = open_token_store("p/clinic/alice")
    assert isinstance(store, MemoryTokenStore)
    assert warning == NO_KEYRING_WARNING
    assert "sign in again" in warning
    store.set("t")
    assert store.get() == "t"


class _RaisingKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("locked")


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(keyring.backends.null.Keyring(), id="null"),
        pytest.param(keyring.backends.chainer.ChainerBackend(), id="empty-chainer"),
        pytest.param(_RaisingKeyring(), id="raising"),
    ],
)
def test_unusable_backends_fall_back_to_memory(
    backend: KeyringBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        monkeypatch.setattr(
            keyring.backends.chainer.ChainerBackend, "backends", property(lambda self: [])
        )
    keyring.set_keyring(backend)  # the autouse fixture restores the previous backend
    store, warning = open_token_store("p/clinic/alice")
    assert isinstance(store, MemoryTokenStore)
    assert warning == NO_KEYRING_WARNING


class _FailsOnSet(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("user dismissed the prompt")


def test_keyring_failing_at_runtime_keeps_token_in_memory() -> None:
    store = KeyringTokenStore("p/clinic/alice", backend=_FailsOnSet())
    store.set("refresh-1")
    assert store.get() == "refresh-1"
    assert store.warning is not None and "sign in again" in store.warning
    store.delete()
    assert store.get() is None
