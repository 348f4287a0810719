"""`visitdesk-portal create-practice` and `list-practices`: what a deployment needs without the
demo. The first manager's password comes from a prompt, an environment variable or a file, never
from the command line (where other users of the machine and the shell history would see it)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from visitdesk.portal.persistence.db import Database
from visitdesk.portal.staff.practices import (
    SetupError,
    check_manager_password,
    create_practice,
    list_practices,
)
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.security import Passwords, make_password_hasher

PASSWORD_ENV = "VISITDESK_MANAGER_PASSWORD"  # noqa: S105  (a variable name)


def add_commands(commands: Any) -> None:
    create = commands.add_parser(
        "create-practice", help="create a practice and its first office manager"
    )
    _database_arguments(create)
    create.add_argument("--code", required=True, help="the practice code staff sign in with")
    create.add_argument("--name", required=True, help="the practice's name as patients see it")
    create.add_argument(
        "--timezone", default="America/New_York", help="IANA timezone (default America/New_York)"
    )
    create.add_argument("--phone", default="", help="the office phone number patients call")
    create.add_argument("--manager-username", required=True, help="the first manager's username")
    create.add_argument("--manager-name", required=True, help="the first manager's full name")
    create.add_argument(
        "--manager-password-file",
        type=Path,
        default=None,
        help=f"file holding the manager's password (else ${PASSWORD_ENV}, else a prompt)",
    )
    create.set_defaults(handler=_create)
    listing = commands.add_parser("list-practices", help="list the practices of this portal")
    _database_arguments(listing)
    listing.set_defaults(handler=_list)


def _database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="the data directory `serve` uses"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL of a PostgreSQL database (default: SQLite in --data-dir)",
    )


def _database(args: argparse.Namespace) -> tuple[PortalConfig, Database]:
    config = PortalConfig(data_dir=args.data_dir.resolve(), database_url=args.database_url)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(config.resolved_database_url)
    db.migrate_schema()
    return config, db


def _password(args: argparse.Namespace) -> str | None:
    if args.manager_password_file is not None:
        try:
            return args.manager_password_file.read_text(encoding="utf-8").strip("\r\n")
        except OSError:
            print("Cannot read the manager password file.", file=sys.stderr)
            return None
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        print(
            f"Give the manager's password with --manager-password-file or ${PASSWORD_ENV} "
            "(there is no terminal to ask on).",
            file=sys.stderr,
        )
        return None
    first = getpass.getpass("Password for the first manager: ")
    if getpass.getpass("The same password again: ") != first:
        print("The passwords differ; nothing was created.", file=sys.stderr)
        return None
    return first


def _create(args: argparse.Namespace) -> int:
    password = _password(args)
    if password is None:
        return 2
    try:
        check_manager_password(password, args.manager_username)
    except SetupError as error:
        print(f"{error} Nothing was created.", file=sys.stderr)
        return 2
    config, db = _database(args)
    try:
        # Hashed before the transaction: argon2 is slow on purpose and must not hold the lock.
        password_hash = Passwords(make_password_hasher(config)).hash(password)
        with db.write() as session:
            create_practice(
                session,
                code=args.code,
                name=args.name,
                timezone=args.timezone,
                phone=args.phone,
                manager_username=args.manager_username,
                manager_name=args.manager_name,
                password_hash=password_hash,
            )
    except SetupError as error:
        print(f"{error} Nothing was created.", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(
        f"Created practice {args.code.strip().casefold()} with manager "
        f"{args.manager_username.strip().casefold()}."
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    _config, db = _database(args)
    try:
        with db.read() as session:
            practices = list_practices(session)
    finally:
        db.dispose()
    if not practices:
        print("No practices yet: create one with `visitdesk-portal create-practice`.")
        return 0
    print(f"{'code':<24} {'managers':>8} {'staff':>6} {'patients':>9}  name (timezone)")
    for p in practices:
        print(f"{p.code:<24} {p.managers:>8} {p.staff:>6} {p.patients:>9}  {p.name} ({p.timezone})")
    return 0
