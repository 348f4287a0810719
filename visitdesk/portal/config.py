"""Settings of the portal service, declared once with type, default and description."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

#: Environment variable that, when set, replaces the secret key file in the data directory.
SECRET_ENV = "VISITDESK_PORTAL_SECRET"  # noqa: S105  (a variable name)
SECRET_FILE = "secret.key"  # noqa: S105  (a file name)
DATABASE_FILE = "portal.sqlite3"


class PortalConfig(BaseModel):
    """Everything the portal app needs to run; build one per process (or per test)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(
        description="Holds the SQLite database, the TLS files and the secret key."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite in the data directory. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    secret_key: str | None = Field(
        default=None,
        repr=False,
        description=f"Key that signs access tokens; defaults to ${SECRET_ENV}, else data_dir/{SECRET_FILE}.",
    )
    access_token_ttl: timedelta = Field(
        default=timedelta(minutes=15), description="Lifetime of a staff access token."
    )
    refresh_token_ttl: timedelta = Field(
        default=timedelta(days=30), description="Lifetime of a staff refresh token."
    )
    patient_token_ttl: timedelta = Field(
        default=timedelta(hours=1), description="Lifetime of a patient access token."
    )
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id iterations.")
    argon2_memory_cost: int = Field(default=64 * 1024, ge=8, description="argon2id memory, KiB.")
    argon2_parallelism: int = Field(default=4, ge=1, description="argon2id lanes.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per login and address before throttling."
    )
    login_failure_window: timedelta = Field(
        default=timedelta(minutes=15), description="Failures older than this are forgotten."
    )
    login_lockout: timedelta = Field(
        default=timedelta(seconds=60),
        description="First lockout once throttled; doubles with each further failure.",
    )
    login_lockout_max: timedelta = Field(
        default=timedelta(minutes=15), description="Longest lockout."
    )
    longpoll_recheck_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often a waiting long-poll re-reads the database, so changes written by "
        "other worker processes are seen too.",
    )
    idempotency_retention: timedelta = Field(
        default=timedelta(days=7), description="How long stored idempotent responses are kept."
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DATABASE_FILE).as_posix()}"

    def resolved_secret_key(self) -> bytes:
        """The signing key: explicit, else the environment, else the key file (created once)."""
        if self.secret_key:
            return self.secret_key.encode()
        from_env = os.environ.get(SECRET_ENV)
        if from_env:
            return from_env.encode()
        return load_or_create_secret_file(self.data_dir / SECRET_FILE)


def load_or_create_secret_file(path: Path) -> bytes:
    """Read the key file, creating it with owner-only permissions on first use."""
    if path.exists():
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    try:
        # Never replace a key another process created meanwhile: link fails if it exists.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip().encode()
