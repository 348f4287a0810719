"""Opening a signed-in session: portal client, refresh-token store and the practice's local store.

These functions block (network, SQLite migrations) and run on a worker thread; nothing here touches
Qt. The composition root in `app.py` turns the result into an engine and a main window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from visitdesk.api.wire import PracticeInfo, StaffInfo
from visitdesk.desktop.models.paths import shared_store_path_for
from visitdesk.desktop.models.store import LocalStore, store_path_for
from visitdesk.desktop.settings import Settings
from visitdesk.sync.client import PortalClient, SignInFailed
from visitdesk.sync.credentials import TokenStore, open_token_store
from visitdesk.sync.errors import PasswordChangeRequired, PortalOffline

log = logging.getLogger(__name__)

#: Sync-state keys caching who signed in, so the desk can open offline with a kept refresh token.
STAFF_KEY = "signed_in_staff"
PRACTICE_KEY = "signed_in_practice"


@dataclass
class OpenSession:
    client: PortalClient
    store: LocalStore
    staff: StaffInfo
    practice: PracticeInfo
    portal_url: str
    username: str
    ca_file: Path | None
    keyring_warning: str | None
    #: An argon2 hash of the password typed at sign-in, kept in memory only, so the lock screen
    #: can check the password without the portal. None after a resume from the keyring.
    password_check: str | None = None

    def unlock(self, password: str) -> bool:
        """Whether `password` is the signed-in staff member's; asks the portal when it must.

        Raises PortalError (offline, untrusted...) when the portal has to be asked and cannot be.
        """
        hasher = PasswordHasher()
        if self.password_check is not None:
            try:
                return hasher.verify(self.password_check, password)
            except (VerifyMismatchError, InvalidHashError):
                return False
        try:
            self.client.sign_in(self.practice.code, self.username, password)
        except SignInFailed:
            return False
        self.remember_password(password)
        return True

    def remember_password(self, password: str) -> None:
        """Keep (a hash of) the staff member's password for the lock screen: at sign-in, and
        when they change it from the desk."""
        self.password_check = PasswordHasher().hash(password)


def token_account(portal_url: str, practice: str, username: str) -> str:
    """The keyring entry name for one staff member on one portal and practice."""
    return f"{portal_url.rstrip('/')}|{practice.lower()}|{username.lower()}"


def _open(
    client: PortalClient,
    data_dir: Path,
    portal_url: str,
    username: str,
    ca_file: Path | None,
    warning: str | None,
) -> OpenSession:
    staff, practice = client.staff, client.practice
    if staff is None or practice is None:
        raise RuntimeError("the portal client has no signed-in staff member")
    path = store_path_for(data_dir, portal_url, practice.code, staff.role)
    _adopt_shared_store(data_dir, portal_url, practice.code, staff.role, path)
    store = LocalStore.open(path)
    store.set_practice(practice, portal_url)
    store.set_state(STAFF_KEY, staff.model_dump_json())
    store.set_state(PRACTICE_KEY, practice.model_dump_json())
    return OpenSession(client, store, staff, practice, portal_url, username, ca_file, warning)


_SQLITE_SIDE_FILES = ("-wal", "-shm")


def _adopt_shared_store(
    data_dir: Path, portal_url: str, practice_code: str, role: str, path: Path
) -> None:
    """Give an older release's one-file-per-practice store to the role that last used it.

    That file holds what its last user's role could see (and perhaps an outbox not yet sent), so
    it becomes that role's store; any other role starts its own and syncs from the beginning.
    """
    shared = shared_store_path_for(data_dir, portal_url, practice_code)
    if path.exists() or not shared.exists():
        return
    with LocalStore.open(shared) as store:
        last_staff = store.get_state(STAFF_KEY)
    if not last_staff or StaffInfo.model_validate_json(last_staff).role != role:
        return
    for suffix in ("", *_SQLITE_SIDE_FILES):
        source = shared.with_name(shared.name + suffix)
        if source.exists():
            source.replace(path.with_name(path.name + suffix))
    log.info("The practice's local store now belongs to the %s role", role)


def sign_in(
    data_dir: Path,
    portal_url: str,
    practice: str,
    username: str,
    password: str,
    ca_file: Path | None,
    token_store: TokenStore | None = None,
    new_password: str | None = None,
) -> OpenSession:
    """Sign in with a password; the refresh token goes to the keyring (or memory, with a warning).

    `token_store` overrides the keyring (the demo keeps its throwaway tokens in memory). After a
    manager's reset the portal requires a new password first: without `new_password` this raises
    PasswordChangeRequired; with it, the password is changed and the session opens.
    """
    warning: str | None = None
    if token_store is None:
        token_store, warning = open_token_store(token_account(portal_url, practice, username))
    tokens = token_store
    client = PortalClient(portal_url, ca_file=ca_file, token_store=tokens)
    tokens = client.sign_in(practice, username, password)
    if tokens.password_change_required:
        if not new_password:
            client.close()
            raise PasswordChangeRequired()
        try:
            client.change_password(password, new_password)
        except BaseException:
            client.close()
            raise
        password = new_password
    opened = _open(client, data_dir, portal_url, username, ca_file, warning)
    opened.remember_password(password)
    return opened


def resume(data_dir: Path, settings: Settings) -> OpenSession | None:
    """Sign in again with the refresh token kept in the keyring, if there is one that still works."""
    if not (settings.portal_url and settings.practice_code and settings.username):
        return None
    tokens: TokenStore
    tokens, warning = open_token_store(
        token_account(settings.portal_url, settings.practice_code, settings.username)
    )
    if warning is not None or tokens.get() is None:
        return None
    ca_file = Path(settings.ca_file) if settings.ca_file else None
    client = PortalClient(settings.portal_url, ca_file=ca_file, token_store=tokens)
    try:
        if client.resume() is None:
            return None
    except PortalOffline:
        log.info("Portal unreachable at start-up; opening the local store offline")
        return _open_offline(client, data_dir, settings, ca_file)
    return _open(client, data_dir, settings.portal_url, settings.username, ca_file, None)


def _open_offline(
    client: PortalClient, data_dir: Path, settings: Settings, ca_file: Path | None
) -> OpenSession | None:
    """Open the cached store while the portal is unreachable; the engine signs in once it is back."""
    if not settings.role:
        return None
    path = store_path_for(data_dir, settings.portal_url, settings.practice_code, settings.role)
    if not path.exists():
        return None
    store = LocalStore.open(path)
    staff_json, practice_json = store.get_state(STAFF_KEY), store.get_state(PRACTICE_KEY)
    if not staff_json or not practice_json:
        store.close()
        return None
    staff = StaffInfo.model_validate_json(staff_json)
    practice = PracticeInfo.model_validate_json(practice_json)
    return OpenSession(
        client, store, staff, practice, settings.portal_url, settings.username, ca_file, None
    )
