"""Where the staff refresh token lives between runs.

The refresh token goes to the operating system's keyring (Keychain, Credential Manager, Secret
Service) through `keyring`. When no usable keyring exists the token is kept in memory for this run
only and the user is told they will have to sign in again next time. Passwords are never stored, and
no token is ever written to a file in clear.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE = "VisitDesk"

NO_KEYRING_WARNING = (
    "No system keyring is available on this computer, so you will have to sign in again next time "
    "VisitDesk starts. Your password and tokens are not saved to disk."
)

KEYRING_FAILED_WARNING = (
    "The system keyring refused to save your sign-in, so you will have to sign in again next time "
    "VisitDesk starts. Your password and tokens are not saved to disk."
)


class TokenStore(Protocol):
    """Keeps one refresh token."""

    def get(self) -> str | None: ...

    def set(self, token: str) -> None: ...

    def delete(self) -> None: ...


class MemoryTokenStore:
    """A token held in memory for this run only."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token
        self._lock = threading.Lock()

    def get(self) -> str | None:
        with self._lock:
            return self._token

    def set(self, token: str) -> None:
        with self._lock:
            self._token = token

    def delete(self) -> None:
        with self._lock:
            self._token = None


class KeyringTokenStore:
    """A token in the system keyring under (`service`, `account`).

    If the keyring fails at runtime (locked, dismissed prompt, daemon gone) the token is kept in
    memory instead so the session goes on, and `warning` says the sign-in will not be remembered.
    """

    def __init__(
        self, account: str, *, service: str = SERVICE, backend: KeyringBackend | None = None
    ) -> None:
        self.service = service
        self.account = account
        self._backend = backend
        self._fallback = MemoryTokenStore()
        self._use_fallback = False
        self.warning: str | None = None
        self._lock = threading.Lock()

    def _keyring(self) -> KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    def get(self) -> str | None:
        with self._lock:
            if self._use_fallback:
                return self._fallback.get()
            try:
                return self._keyring().get_password(self.service, self.account)
            except keyring.errors.KeyringError as exc:
                log.warning("Could not read from the keyring (%s)", type(exc).__name__)
                return None

    def set(self, token: str) -> None:
        with self._lock:
            if not self._use_fallback:
                try:
                    self._keyring().set_password(self.service, self.account, token)
                    return
                except keyring.errors.KeyringError as exc:
                    log.warning(
                        "Could not save to the keyring (%s); keeping the sign-in in memory",
                        type(exc).__name__,
                    )
                    self._use_fallback = True
                    self.warning = KEYRING_FAILED_WARNING
            self._fallback.set(token)

    def delete(self) -> None:
        with self._lock:
            self._fallback.delete()
            try:
                self._keyring().delete_password(self.service, self.account)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored: already signed out
            except keyring.errors.KeyringError as exc:
                log.warning("Could not delete from the keyring (%s)", type(exc).__name__)


def usable_backend() -> KeyringBackend | None:
    """The configured keyring backend if it can actually store secrets, else None."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration must not stop the app
        log.warning("No keyring backend could be loaded (%s)", type(exc).__name__)
        return None
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return None
    if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
        return None
    try:
        # A read of an entry that need not exist shows whether the backend works at all.
        backend.get_password(SERVICE, "visitdesk-probe")
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        log.warning("The keyring backend is not usable (%s)", type(exc).__name__)
        return None
    return backend


def open_token_store(account: str) -> tuple[TokenStore, str | None]:
    """A token store for `account` and, when the token cannot be remembered, a warning to show.

    `account` names the sign-in, e.g. "<portal host>/<practice code>/<username>", so that several
    portals or practices on one workstation keep separate tokens.
    """
    backend = usable_backend()
    if backend is None:
        return MemoryTokenStore(), NO_KEYRING_WARNING
    return KeyringTokenStore(account, backend=backend), None
