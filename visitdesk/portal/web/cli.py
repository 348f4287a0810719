"""``visitdesk-portal``: serve the portal, create and list practices, seed the demo practice, run
the patient simulator.

Exit codes: 0 success; 1 runtime failure; 2 usage error; 3 ``seed-demo`` found the demo practice
already in the database (nothing is changed; use another --data-dir or --database-url to start
afresh).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import ipaddress
import json
import logging
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.demo.seed import DemoCredentials, PracticeExists, seed_demo
from visitdesk.portal.persistence.db import Database, PoolSettings
from visitdesk.portal.persistence.migrate import SchemaTooNew
from visitdesk.portal.staff.commands import add_commands as add_practice_commands
from visitdesk.portal.web.app import ENV_CONFIG_JSON, build_gateway, create_serving_app
from visitdesk.portal.web.config import (
    DATABASE_PASSWORD_ENV,
    STRIPE_SECRET_ENV,
    STRIPE_WEBHOOK_SECRET_ENV,
    PortalConfig,
    prepare_data_dir,
)
from visitdesk.portal.web.logs import configure_logging, logging_config
from visitdesk.portal.web.observability import MULTIPROC_ENV
from visitdesk.portal.web.server import PortalServer, bind_socket, url_host, uvicorn_config
from visitdesk.portal.web.tls import TlsFiles, ensure_tls
from visitdesk.portal.web.workers import metrics_dir, reserve_port, run_workers

log = logging.getLogger("visitdesk.portal.web.cli")

EXIT_PRACTICE_EXISTS = 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visitdesk-portal", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="least severe log messages written (default INFO; logs carry no patient data)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the portal over HTTPS")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    serve.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="where the portal keeps its CA, certificate, SQLite database and logs",
    )
    serve.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL WITHOUT the password (postgresql+psycopg://user@host/db); the "
        f"password comes from ${DATABASE_PASSWORD_ENV} or --database-password-file, because "
        "ps shows command lines. Default: SQLite in the data directory.",
    )
    serve.add_argument(
        "--database-password-file",
        type=Path,
        default=None,
        help="file whose first line is the database password (e.g. a container secret)",
    )
    serve.add_argument(
        "--hosts",
        type=int,
        default=None,
        help="portal hosts sharing the database (the connection budget is split over "
        "hosts x workers); default 1",
    )
    serve.add_argument(
        "--settings",
        type=Path,
        default=None,
        help="JSON file of further portal settings (pool sizes, timeouts, mail ...); "
        "see the README for the names",
    )
    serve.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        help='written once serving: {"url", "port", "ca_file"}',
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1); each listens on the port with SO_REUSEPORT",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS_OR_CIDR",
        help="a reverse proxy whose X-Forwarded-For names the client (repeatable)",
    )
    serve.add_argument(
        "--payment-gateway",
        choices=["none", "stripe", "test"],
        default="none",
        help="who takes card payments: none (patients are told how to pay instead), stripe, or "
        "test (the demo's fake cards; only on a loopback --host)",
    )
    serve.add_argument(
        "--stripe-secret-key-file",
        type=Path,
        default=None,
        help=f"file holding Stripe's secret key (${STRIPE_SECRET_ENV} wins); never on the "
        "command line",
    )
    serve.add_argument(
        "--stripe-webhook-secret-file",
        type=Path,
        default=None,
        help=f"file holding the webhook signing secret (${STRIPE_WEBHOOK_SECRET_ENV} wins)",
    )
    serve.add_argument("--stripe-publishable-key", default="", help="for the card form")
    serve.set_defaults(handler=_serve)

    seed = commands.add_parser("seed-demo", help="create the demo practice with synthetic data")
    seed.add_argument(
        "--data-dir", type=Path, required=True, help="the data directory `serve` will use"
    )
    seed.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL of a PostgreSQL database (default: SQLite in --data-dir)",
    )
    seed.add_argument(
        "--patients", type=int, default=5000, help="synthetic patients to create (default 5000)"
    )
    seed.add_argument(
        "--seed", default="0", help="random seed: the same seed makes the same practice"
    )
    seed.add_argument(
        "--arrivals-spread",
        type=int,
        default=150,
        help="the app patients' appointments start between 10 minutes ago and this many minutes "
        "from now, so their I'm Here taps fall inside the arrival window over the next hours "
        "(default 150; 40 puts every one inside it now)",
    )
    seed.add_argument("--json", action="store_true", help="print the demo credentials as JSON")
    seed.set_defaults(handler=_seed_demo)

    sim = commands.add_parser("simulate", help="demo patients tapping I'm Here")
    sim.add_argument("--url", required=True, help="the portal's https:// address")
    sim.add_argument(
        "--ca-file", type=Path, required=True, help="the portal's CA certificate to trust"
    )
    sim.add_argument("--credentials", type=Path, required=True, help="seed-demo --json output")
    sim.add_argument(
        "--interval", type=float, default=5.0, help="average seconds between patient events"
    )
    sim.add_argument(
        "--max-events", type=int, default=None, help="stop after this many events (default: run on)"
    )
    sim.set_defaults(handler=_simulate)
    add_practice_commands(commands)
    return parser


# --------------------------------------------------------------------------- serve


def _write_ready_file(path: Path, payload: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, path)


def _serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.payment_gateway == "test" and not _is_loopback(args.host):
        print(
            "--payment-gateway test takes fake cards: only a loopback demo may use it",
            file=sys.stderr,
        )
        return 2
    try:
        config = _serve_config(args, data_dir)
        build_gateway(config)  # Stripe's keys are readable, before anything starts
    except (ValueError, OSError) as exc:
        print(f"visitdesk-portal serve: {exc}", file=sys.stderr)
        return 2
    if config.payment_gateway == "none":
        print(
            "VisitDesk portal: no card processor configured; patients are told how to pay instead.",
            flush=True,
        )
    prepare_data_dir(config)
    config.resolved_secret_key()  # create the key file once, before any worker starts
    tls = ensure_tls(data_dir / "tls", args.host)
    print(f"VisitDesk portal CA certificate: {tls.ca_file}", flush=True)
    db = Database.from_url(config.resolved_database_url, PoolSettings(pool_size=1))
    try:
        if db.migrate_schema():
            print("VisitDesk portal database: schema created or upgraded.", flush=True)
    except SchemaTooNew as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        db.dispose()

    if args.workers > 1:
        sock = reserve_port(args.host, args.port)
    else:
        sock = bind_socket(args.host, args.port)
    port = int(sock.getsockname()[1])
    url = f"https://{url_host(args.host)}:{port}"
    ready = {"url": url, "port": port, "ca_file": str(tls.ca_file)}

    def announce() -> None:
        if args.ready_file is not None:
            _write_ready_file(args.ready_file, ready)
        log.info("serving on %s", url)
        print(f"VisitDesk portal serving on {url}", flush=True)

    # uvicorn re-raises the signal after a graceful shutdown; these handlers make that a no-op,
    # so SIGTERM/SIGINT end the process with exit code 0 once everything is closed.
    previous = {sig: signal.signal(sig, _ignore_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if args.workers == 1:
            app = create_serving_app(config)
            server = PortalServer(
                uvicorn_config(
                    app,
                    tls,
                    log_config=logging_config(args.log_level),
                    timeout_keep_alive=config.keep_alive_seconds,
                ),
                on_started=announce,
            )
            server.run(sockets=[sock])
            if not server.started:
                return 1
        else:
            _serve_workers(args, config, tls, sock, announce)
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)
    log.info("portal stopped")
    return 0


def _serve_config(args: argparse.Namespace, data_dir: Path) -> PortalConfig:
    """The serving config from flags and the optional settings file; refuses a password in the
    database URL (it would be visible to every user of the machine through ps)."""
    if args.database_url and make_url(args.database_url).password:
        raise ValueError(
            f"put the database password in ${DATABASE_PASSWORD_ENV} or "
            "--database-password-file, not in --database-url (ps shows command lines)"
        )
    settings: dict[str, object] = {}
    if args.settings is not None:
        loaded = json.loads(args.settings.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError("--settings must hold a JSON object of setting names and values")
        settings.update(loaded)
    settings.update(
        data_dir=data_dir,
        workers=args.workers,
        trusted_proxies=tuple(args.trusted_proxy),
        **{k: v for k, v in _payment_settings(args).items() if v is not None},
    )
    if args.database_url:
        settings["database_url"] = args.database_url
    if args.database_password_file is not None:
        settings["database_password_file"] = args.database_password_file.resolve()
    if args.hosts is not None:
        settings["hosts"] = args.hosts
    try:
        return PortalConfig.model_validate(settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValueError(f"invalid settings: {problems}") from None


def _payment_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "payment_gateway": args.payment_gateway,
        "stripe_secret_key_file": args.stripe_secret_key_file,
        "stripe_webhook_secret_file": args.stripe_webhook_secret_file,
        "stripe_publishable_key": args.stripe_publishable_key,
    }


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _serve_workers(
    args: argparse.Namespace,
    config: PortalConfig,
    tls: TlsFiles,
    sock: socket.socket,
    announce: Callable[[], None],
) -> None:
    os.environ[ENV_CONFIG_JSON] = config.for_workers()
    # Workers write their metrics to shared files, so /metrics on any worker answers for all.
    os.environ[MULTIPROC_ENV] = str(metrics_dir(config.data_dir))
    uv_config = uvicorn_config(
        "visitdesk.portal.web.app:create_app_from_env",
        tls,
        factory=True,
        workers=args.workers,
        host=args.host,
        port=int(sock.getsockname()[1]),
        log_config=logging_config(args.log_level),
        timeout_keep_alive=config.keep_alive_seconds,
    )
    # Each worker opens its own socket, so nothing queues before one listens: announce (ready
    # file) once a worker answers.
    port = int(sock.getsockname()[1])
    threading.Thread(
        target=_announce_when_answering,
        args=(url_host(args.host).strip("[]"), port, tls, announce),
        daemon=True,
    ).start()
    run_workers(uv_config, sock)


def _announce_when_answering(
    host: str, port: int, tls: TlsFiles, announce: Callable[[], None], timeout: float = 120.0
) -> None:
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = http.client.HTTPSConnection(host, port, timeout=5, context=context)
        try:
            connection.request("GET", "/health/live")
            if connection.getresponse().status == 200:
                announce()
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    log.error("no worker answered within %.0f s", timeout)


def _ignore_signal(_sig: int, _frame: FrameType | None) -> None:
    return None


# --------------------------------------------------------------------------- seed-demo


def _seed_demo(args: argparse.Namespace) -> int:
    if args.patients < 20:
        print("--patients must be at least 20 (the demo accounts need patients)", file=sys.stderr)
        return 2
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = PortalConfig(data_dir=data_dir, database_url=args.database_url)
    db = Database.from_url(config.resolved_database_url)
    try:
        db.migrate_schema()
        seed: int | str = int(args.seed) if args.seed.lstrip("-").isdigit() else args.seed
        credentials = seed_demo(
            db,
            patients=args.patients,
            seed=seed,
            code_hasher=CodeHasher(config.resolved_secret_key()),
            arrivals_spread_minutes=args.arrivals_spread,
        )
        credentials = dataclasses.replace(
            credentials,
            mail_drop_dir=str(config.resolved_mail_drop_dir),
            text_drop_dir=str(config.resolved_text_drop_dir),
        )
    except PracticeExists:
        print(
            "The demo practice already exists in this database; nothing was changed. "
            "Use a new --data-dir (or --database-url) to seed afresh.",
            file=sys.stderr,
        )
        return EXIT_PRACTICE_EXISTS
    finally:
        db.dispose()
    if args.json:
        print(credentials.to_json(), flush=True)
    else:
        _print_credentials(credentials)
    return 0


def _print_credentials(credentials: DemoCredentials) -> None:
    print(f"Practice: {credentials.practice_name} (code {credentials.practice_code})")
    print("Staff sign-ins:")
    for staff in credentials.staff:
        print(f"  {staff.role:<11} {staff.username:<10} {staff.password}")
    print("Patient sign-ins:")
    for patient in credentials.patients:
        print(f"  {patient.login:<48} {patient.password}")
    if credentials.demo_codes:
        print("Security codes issued for the demo (each works once):")
        for demo in credentials.demo_codes:
            who = f"{demo.first_name} {demo.last_name}"
            print(f"  {demo.code}  {demo.purpose:<8} {demo.relationship:<6} {who}")


# --------------------------------------------------------------------------- simulate


def _simulate(args: argparse.Namespace) -> int:
    from visitdesk.portal.demo.simulator import PatientSimulator

    data = json.loads(args.credentials.read_text(encoding="utf-8"))
    credentials = DemoCredentials.from_dict(data)
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    simulator = PatientSimulator(args.url, args.ca_file, credentials)
    try:
        events = simulator.run(stop, interval=args.interval, max_events=args.max_events)
    finally:
        simulator.close()
    log.info("simulator stopped after %d check-ins", events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
