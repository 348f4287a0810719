"""Settings of the portal service, declared once with type, default and description."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Environment variable that, when set, replaces the secret key file in the data directory.
SECRET_ENV = "VISITDESK_PORTAL_SECRET"  # noqa: S105  (a variable name)
SECRET_FILE = "secret.key"  # noqa: S105  (a file name)
DATABASE_FILE = "portal.sqlite3"
MAIL_DROP_DIR = "outbox-mail"
TEXT_DROP_DIR = "outbox-sms"


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
    # ------------------------------------------------------------------ outgoing email and texts
    mail_transport: Literal["file", "smtp"] = Field(
        default="file",
        description=f"'smtp' sends through smtp_host; 'file' drops .eml files in "
        f"mail_drop_dir (default data_dir/{MAIL_DROP_DIR}), as the demo does.",
    )
    smtp_host: str = Field(default="", description="SMTP relay host (mail_transport 'smtp').")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP relay port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="STARTTLS on a plain connection, implicit TLS, or none (loopback only).",
    )
    smtp_username: str = Field(default="", description="SMTP login; empty for none.")
    smtp_password: str = Field(default="", repr=False, description="SMTP password.")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, description="SMTP socket timeout.")
    mail_from: str = Field(
        default="VisitDesk Portal <no-reply@visitdesk.invalid>",
        description="From header of the portal's email.",
    )
    mail_drop_dir: Path | None = Field(
        default=None, description=f"Where 'file' email goes; default data_dir/{MAIL_DROP_DIR}."
    )
    text_drop_dir: Path | None = Field(
        default=None,
        description=f"Where text messages are dropped as .txt files (the text gateway); "
        f"default data_dir/{TEXT_DROP_DIR}.",
    )
    portal_public_url: str = Field(
        default="",
        description="Patient portal address quoted in email (e.g. the confirmation link); "
        "empty: the email quotes the confirmation token only.",
    )
    # ------------------------------------------------------------------ registration and codes
    security_code_days: int = Field(
        default=14,
        ge=1,
        le=90,
        description="Default validity of a security code, in days, for a practice without its "
        "own 'security_code_days' setting.",
    )
    security_code_max_attempts: int = Field(
        default=5, ge=1, description="Wrong attempts against one code before it locks."
    )
    code_entry_max_failures: int = Field(
        default=10,
        ge=1,
        description="Unknown security codes entered per client address (per practice) or per "
        "account inside code_entry_window before code entry is throttled.",
    )
    code_entry_window: timedelta = Field(
        default=timedelta(minutes=15), description="Window of code_entry_max_failures."
    )
    safe_health_code_ttl: timedelta = Field(
        default=timedelta(minutes=10), description="Lifetime of a Safe Health Code."
    )
    safe_health_code_max_attempts: int = Field(
        default=5, ge=1, description="Wrong entries of one Safe Health Code before it is void."
    )
    connect_max_starts: int = Field(
        default=5,
        ge=1,
        description="Safe Health Codes one account may request per practice inside "
        "connect_start_window (each sends a message to a patient).",
    )
    connect_start_window: timedelta = Field(
        default=timedelta(hours=1), description="Window of connect_max_starts."
    )
    registration_mail_max: int = Field(
        default=3,
        ge=1,
        description="Registration emails (confirmation or 'someone tried to register') one "
        "address may receive inside registration_mail_window; more attempts are throttled.",
    )
    registration_mail_window: timedelta = Field(
        default=timedelta(hours=1), description="Window of registration_mail_max."
    )
    email_token_ttl: timedelta = Field(
        default=timedelta(days=7), description="Lifetime of an email-confirmation token."
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DATABASE_FILE).as_posix()}"

    @property
    def resolved_mail_drop_dir(self) -> Path:
        return self.mail_drop_dir or self.data_dir / MAIL_DROP_DIR

    @property
    def resolved_text_drop_dir(self) -> Path:
        return self.text_drop_dir or self.data_dir / TEXT_DROP_DIR

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
