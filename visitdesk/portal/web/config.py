"""Settings of the portal service, declared once with type, default and description."""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Environment variable that, when set, replaces the secret key file in the data directory.
SECRET_ENV = "VISITDESK_PORTAL_SECRET"  # noqa: S105  (a variable name)
SECRET_FILE = "secret.key"  # noqa: S105  (a file name)
#: Environment variable holding the database password (kept out of URLs on command lines).
DATABASE_PASSWORD_ENV = "VISITDESK_PORTAL_DATABASE_PASSWORD"  # noqa: S105  (a variable name)
#: Stripe's secret API key and webhook signing secret: from these variables, else from the files
#: named in the settings (never from a command-line value, which other users can read).
STRIPE_SECRET_ENV = "VISITDESK_PORTAL_STRIPE_SECRET_KEY"  # noqa: S105  (a variable name)
STRIPE_WEBHOOK_SECRET_ENV = "VISITDESK_PORTAL_STRIPE_WEBHOOK_SECRET"  # noqa: S105
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
    refresh_reuse_grace: timedelta = Field(
        default=timedelta(seconds=30),
        ge=timedelta(0),
        le=timedelta(minutes=5),
        description="How long after rotating a staff refresh token the previous one is still "
        "accepted once, provided its successor was never used (the answer to the rotation was "
        "lost on the way); 0 turns this off. Any other reuse ends the session.",
    )
    patient_token_ttl: timedelta = Field(
        default=timedelta(hours=1), description="Lifetime of a patient access token."
    )
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id iterations.")
    argon2_memory_cost: int = Field(default=64 * 1024, ge=8, description="argon2id memory, KiB.")
    argon2_parallelism: int = Field(default=4, ge=1, description="argon2id lanes.")
    password_hash_workers: int | None = Field(
        default=None,
        ge=1,
        description="Password hashes computed at once; default half the cores (1 to 4).",
    )
    password_hash_queue: int = Field(
        default=16,
        ge=0,
        description="Sign-ins waiting for a hashing slot; more are answered 503 + Retry-After.",
    )
    password_hash_wait_seconds: float = Field(
        default=10.0, gt=0, description="Longest a sign-in waits for a hashing slot."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per login and address before throttling."
    )
    login_account_max_failures: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins for one login from all addresses together before that "
        "login is throttled (guessing spread over many addresses).",
    )
    login_address_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address over all logins before that "
        "address is throttled (trying many usernames).",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
        "header names the client; from anyone else the header is ignored.",
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
        default=5.0,
        gt=0,
        description="Safety net: how often a waiting long-poll re-reads the feed even without a "
        "wake-up (wake-ups come in-process on SQLite and by LISTEN/NOTIFY on PostgreSQL).",
    )
    longpoll_pace_seconds: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Feed reads for waiting desks of a practice begin at least this far apart in "
        "a worker: changes arriving faster go out several per answer, so a busy practice "
        "costs the portal a bounded number of answers per desk. A change after a quiet spell "
        "goes out at once.",
    )
    longpoll_pace_per_desk_seconds: float = Field(
        default=0.004,
        ge=0,
        le=0.1,
        description="The pace grows by this much for each long-poll of the practice in the "
        "worker (12 desks: 48 ms; 50: 200 ms), so the answers a busy practice costs stay "
        "bounded however many desks watch it.",
    )
    feed_session_check_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a worker remembers that a desk's session is live for GET /changes "
        "(every change brings every desk back at once). A session ended or a role changed "
        "reaches the feed at most this much later, every other call at once; 0 checks always.",
    )
    idempotency_retention: timedelta = Field(
        default=timedelta(days=30),
        description="How long stored idempotent responses are kept: at least as long as a desk "
        "may stay offline (a desk holds older queued changes for a person to confirm).",
    )
    # ------------------------------------------------------------------ database and workers
    database_password: str | None = Field(
        default=None,
        repr=False,
        description=f"Database password, merged into database_url; defaults to "
        f"${DATABASE_PASSWORD_ENV} (never put it on the command line: ps shows it).",
    )
    database_password_file: Path | None = Field(
        default=None,
        description="File holding the database password (first line), e.g. a container secret.",
    )
    workers: int = Field(
        default=1, ge=1, description="Worker processes on this host (the CLI sets it)."
    )
    hosts: int = Field(
        default=1,
        ge=1,
        description="Portal hosts sharing the database; the connection budget is split over "
        "hosts x workers.",
    )
    db_connection_budget: int | None = Field(
        default=None,
        ge=1,
        description="Connections all portal processes together may open; default: the server's "
        "max_connections minus db_reserved_connections. Behind PgBouncer: its max_client_conn.",
    )
    db_reserved_connections: int = Field(
        default=10,
        ge=0,
        description="Connections left to others (superuser slots, migrations, psql, backups).",
    )
    db_pool_size: int | None = Field(
        default=None, ge=1, description="Pooled connections per worker; default from the budget."
    )
    db_max_overflow: int = Field(
        default=0,
        ge=0,
        description="Extra connections per worker beyond db_pool_size when busy (counted "
        "against the budget when the pool size is derived).",
    )
    db_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a request waits for a pooled connection before the portal "
        "answers 503 with Retry-After.",
    )
    db_listen: bool = Field(
        default=True,
        description="PostgreSQL: one LISTEN connection per worker wakes long-polls when any "
        "worker or host writes the feed.",
    )
    listen_database_url: str | None = Field(
        default=None,
        description="Direct PostgreSQL URL for LISTEN when database_url goes through PgBouncer "
        "in transaction mode (LISTEN needs a session); default database_url.",
    )
    thread_pool_size: int = Field(
        default=40,
        ge=1,
        description="Threads per worker for blocking work (database calls, hashing).",
    )
    switch_interval_ms: float | None = Field(
        default=None,
        ge=0.1,
        le=100,
        description="Python's thread switch interval in each worker, in milliseconds (default "
        "Python's 5). With one worker and many desks, 0.5 cut I'm Here -> desk p50 from about "
        "1.1 s to 0.13 s in bench/portal_load.py: the event loop waits less behind busy "
        "database threads.",
    )
    keep_alive_seconds: float = Field(
        default=75.0,
        gt=0,
        description="How long an idle keep-alive connection stays open; above a load "
        "balancer's idle timeout, so the balancer never reuses a connection being closed.",
    )
    worker_header: bool = Field(
        default=False,
        description="Name the answering worker process in an X-VisitDesk-Worker header "
        "(load-balancer and benchmark diagnostics).",
    )
    retry_after_seconds: int = Field(
        default=2, ge=1, description="Retry-After of a 503 when the database is saturated."
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
        description="Connection requests one account may make per practice inside "
        "connect_start_window (each sends a message to a patient or waits in the queue).",
    )
    safe_health_code_sends_per_patient: int = Field(
        default=3,
        ge=1,
        description="Safe Health Codes sent to one patient record inside connect_start_window, "
        "whichever accounts ask (wrong guesses per record are limited by "
        "safe_health_code_max_attempts over the same window).",
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
    password_reset_ttl: timedelta = Field(
        default=timedelta(hours=1), description="Lifetime of a forgot-password link."
    )
    recovery_question_max_failures: int = Field(
        default=3,
        ge=1,
        description="Wrong security-answer attempts on one username inside "
        "recovery_question_window before the questions stop working and only a fresh code "
        "from the office can recover the account.",
    )
    recovery_question_window: timedelta = Field(
        default=timedelta(hours=24), description="Window of recovery_question_max_failures."
    )

    # ------------------------------------------------------------------ card payments
    payment_gateway: Literal["none", "stripe", "test"] = Field(
        default="none",
        description="Who takes card payments: 'none' (patients are told how to pay instead), "
        "'stripe', or 'test' (the demo's fake cards; loopback demo and tests only).",
    )
    stripe_secret_key_file: Path | None = Field(
        default=None,
        description=f"File holding Stripe's secret API key (${STRIPE_SECRET_ENV} wins).",
    )
    stripe_webhook_secret_file: Path | None = Field(
        default=None,
        description=f"File holding the webhook endpoint's signing secret "
        f"(${STRIPE_WEBHOOK_SECRET_ENV} wins).",
    )
    stripe_publishable_key: str = Field(
        default="", description="Stripe's publishable key, handed to the patient's card form."
    )
    stripe_api_base: str | None = Field(
        default=None, description="Stripe's API address; only a test changes it."
    )
    payment_currency: str = Field(
        default="usd", pattern=r"^[a-z]{3}$", description="ISO currency of the amounts, lower case."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in value:
            ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad entry
        return value

    @property
    def resolved_database_url(self) -> str:
        """The URL with the password from the setting or the environment merged in."""
        if not self.database_url:
            return f"sqlite:///{(self.data_dir / DATABASE_FILE).as_posix()}"
        return with_password(self.database_url, self._database_password())

    @property
    def resolved_listen_url(self) -> str:
        url = self.listen_database_url or self.database_url or ""
        return with_password(url, self._database_password()) if url else ""

    def _database_password(self) -> str | None:
        if self.database_password:
            return self.database_password
        if self.database_password_file is not None:
            lines = self.database_password_file.read_text(encoding="utf-8").splitlines()
            return lines[0].strip() if lines else None
        return os.environ.get(DATABASE_PASSWORD_ENV) or None

    def for_workers(self) -> str:
        """This config as JSON for worker processes, without secrets (they come from the
        environment or files, which the workers read themselves)."""
        return self.model_dump_json(exclude={"database_password", "secret_key", "smtp_password"})

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


def read_secret(env: str, path: Path | None, what: str) -> str:
    """A secret from the environment, else from a file; ValueError names what is missing."""
    value = os.environ.get(env, "").strip()
    if not value and path is not None:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read the {what} file: {exc.strerror}") from exc
    if not value:
        raise ValueError(
            f"the {what} is not set: put it in ${env} or in a file named by the settings"
        )
    return value


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


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` set, unless the URL carries one already or none is given."""
    if not password or url.startswith("sqlite"):
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.password:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def prepare_data_dir(config: PortalConfig) -> None:
    """Create the data directory and the default SQLite file owner-only (0700 / 0600).

    They hold patients' records, the signing key and the TLS key. SQLite gives its -wal and
    -shm files the database file's permissions, so creating that file first covers them too.
    """
    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name != "posix":
        return  # Windows: the user profile's ACLs already keep the directory private
    config.data_dir.chmod(0o700)
    if config.database_url:
        return
    database = config.data_dir / DATABASE_FILE
    fd = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    database.chmod(0o600)
