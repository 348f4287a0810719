"""Throttling of failed attempts: sign-ins per login, per address and per pair, and codes.

After ``login_max_failures`` failures inside the window the pair is locked for ``login_lockout``,
doubling with each further failure up to ``login_lockout_max``. Counts are approximate under heavy
concurrency by design: throttling only needs to make guessing slow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.models import LoginThrottle
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.errors import TooManyAttempts
from visitdesk.portal.web.security import hash_key


def throttle_key(kind: str, login: str, client: str) -> str:
    return hash_key(kind, login.strip().casefold(), client)


def raise_if_locked(
    session: Session, key: str, now: datetime | None = None, what: str = "failed sign-in attempts"
) -> None:
    row = session.get(LoginThrottle, key)
    now = now or utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        wait = math.ceil((row.locked_until - now).total_seconds())
        raise TooManyAttempts(f"Too many {what}. Try again in {wait} seconds.", retry_after=wait)


def record_failure(
    db: Database,
    config: PortalConfig,
    key: str,
    *,
    max_failures: int | None = None,
    window: timedelta | None = None,
) -> None:
    """Count one failure for ``key`` (own transaction); defaults are the sign-in limits."""
    max_failures = max_failures or config.login_max_failures
    window = window or config.login_failure_window
    now = utcnow()
    try:
        with db.write() as session:
            row = session.get(LoginThrottle, key, with_for_update=True)
            if row is None:
                row = LoginThrottle(key_hash=key, failures=0, window_started_at=now)
                session.add(row)
            elif now - row.window_started_at > window and (
                row.locked_until is None or row.locked_until <= now
            ):
                row.failures = 0
                row.window_started_at = now
                row.locked_until = None
            row.failures += 1
            over = row.failures - max_failures
            if over >= 0:
                lockout = min(config.login_lockout * (2 ** min(over, 16)), config.login_lockout_max)
                row.locked_until = now + lockout
    except IntegrityError:
        pass  # a concurrent failure created the row first; one lost count is fine


@dataclass(frozen=True)
class SignInKeys:
    """The three counters one sign-in attempt touches.

    ``pair`` (this login from this address) locks first; ``account`` counts one login's failures
    from every address, so spreading guesses over many addresses does not help; ``address`` counts
    one address's failures over every login, so trying many usernames from one place does not.
    """

    pair: str
    account: str
    address: str

    @classmethod
    def of(cls, kind: str, login: str, client: str) -> SignInKeys:
        return cls(
            pair=throttle_key(kind, login, client),
            account=throttle_key(f"{kind}-account", login, ""),
            address=throttle_key(f"{kind}-address", "", client),
        )


def raise_if_sign_in_locked(session: Session, keys: SignInKeys) -> None:
    for key in (keys.pair, keys.account, keys.address):
        raise_if_locked(session, key)


def record_sign_in_failure(db: Database, config: PortalConfig, keys: SignInKeys) -> None:
    record_failure(db, config, keys.pair)
    record_failure(db, config, keys.account, max_failures=config.login_account_max_failures)
    record_failure(db, config, keys.address, max_failures=config.login_address_max_failures)


def clear_sign_in(session: Session, keys: SignInKeys) -> None:
    """A right password ends this login's counts; the address's count stays (other logins)."""
    clear(session, keys.pair)
    clear(session, keys.account)


def clear(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash == key))


def prune(db: Database, config: PortalConfig) -> None:
    """Drop throttle rows whose window and lockout are long over."""
    cutoff = utcnow() - max(config.login_failure_window, config.login_lockout_max)
    with db.write() as session:
        session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.window_started_at < cutoff,
                (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < cutoff),
            )
        )
