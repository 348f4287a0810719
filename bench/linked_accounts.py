"""Linked-accounts benchmark: the manager's list and review at 100,000 portal accounts.

    python bench/linked_accounts.py [--accounts 100000] [--database-url URL]

Seeds a practice with N patients and N accounts (a fifth of them with a second, child link) in
a fresh portal database (SQLite by default), then times what the screen asks the portal for:
the first page, a page deep in the list (by keyset), searches (a name, an MRN, two words, a
common start of a name, a single letter), and the "Needs review" list. Prints measured figures and the machine they ran on.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from visitdesk.portal.links.listing import list_links
from visitdesk.portal.links.review import review
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount, Practice

FIRST = ("Ana", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
LAST = ("Adams", "Baker", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hill", "Ito", "Jones")


def seed(db: Database, accounts: int) -> str:
    rng = random.Random(12)
    practice_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    patients: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for n in range(accounts):
        first, last = rng.choice(FIRST), f"{rng.choice(LAST)}{n % 997}"
        pid, aid = str(uuid.uuid4()), str(uuid.uuid4())
        born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 60 * 365))
        patients.append(
            {
                "id": pid,
                "practice_id": practice_id,
                "mrn": f"M{n:07d}",
                "first_name": first,
                "last_name": last,
                "date_of_birth": born,
                "created_at": now,
                "updated_at": now,
            }
        )
        rows.append(
            {
                "id": aid,
                "email": f"a{n}@example.org",
                "first_name": first,
                "last_name": last,
                "password_hash": "x",
                "created_at": now - timedelta(days=rng.randint(0, 900)),
                "last_sign_in_at": now - timedelta(days=rng.randint(0, 900)),
                "active": True,
            }
        )
        links.append(
            {
                "id": str(uuid.uuid4()),
                "account_id": aid,
                "patient_id": pid,
                "practice_id": practice_id,
                "relationship": "self",
                "created_at": now,
                "method": "security_code",
                "made_by": "Dana Whitfield",
            }
        )
        if n % 5 == 0:
            cid = str(uuid.uuid4())
            patients.append(
                {
                    "id": cid,
                    "practice_id": practice_id,
                    "mrn": f"C{n:07d}",
                    "first_name": "Kit",
                    "last_name": last,
                    "date_of_birth": date.today() - timedelta(days=rng.randint(700, 6500)),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            links.append(
                {
                    "id": str(uuid.uuid4()),
                    "account_id": aid,
                    "patient_id": cid,
                    "practice_id": practice_id,
                    "relationship": "child",
                    "created_at": now - timedelta(days=rng.randint(0, 2000)),
                    "method": "security_code",
                    "made_by": "Dana Whitfield",
                }
            )
    with db.write() as session:
        session.add(Practice(id=practice_id, code="bench", name="Bench Practice"))
        session.flush()
        for table, data in ((Patient, patients), (PatientAccount, rows), (AccountLink, links)):
            for start in range(0, len(data), 5000):
                session.execute(insert(table), data[start : start + 5000])
    return practice_id


def timed(label: str, run: Callable[[], Any], repeat: int = 5) -> Any:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    print(f"  {label:<34} median {statistics.median(times):8.1f} ms   max {max(times):8.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'portal.sqlite3'}"
        db = Database.from_url(url)
        db.migrate_schema()
        started = time.perf_counter()
        practice_id = seed(db, args.accounts)
        print(
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
            f"{db.engine.dialect.name}"
        )
        print(f"seeded {args.accounts:,} accounts in {time.perf_counter() - started:.1f} s")
        with db.read() as session:
            first = timed("first page (200)", lambda: list_links(session, practice_id))
            cursor = first.next_cursor
            for _ in range(200):  # walk 40,000 rows in
                cursor = list_links(session, practice_id, after=cursor).next_cursor
            timed("page 201 by keyset", lambda: list_links(session, practice_id, after=cursor))
            for words in ("jones5", "M0054321", "ana jones5", "jo", "a"):
                timed(
                    f"search {words!r}", lambda w=words: list_links(session, practice_id, search=w)
                )
            result = timed(
                "needs review", lambda: review(session, practice_id, datetime.now(UTC)), 3
            )
            print(f"  review items: {result.total:,}")
        db.dispose()


if __name__ == "__main__":
    main()
