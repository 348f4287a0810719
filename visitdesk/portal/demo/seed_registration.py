"""Demo-only registration material: pre-issued security codes and people the simulator can
connect with.

The desk shows a code only once, so the demo's simulator cannot get one from it. The demo seed
therefore issues a few codes itself (as the front-desk user, audited and in the feed like any
other) and writes their clear values into the demo credentials JSON. Nothing like this exists
outside the demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.codes.security_codes import create_code
from visitdesk.portal.persistence import audit


@dataclass(frozen=True)
class DemoCode:
    """A security code handed out in the demo, with the name the patient would type."""

    code: str
    purpose: str
    relationship: str
    patient_id: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class DemoPerson:
    """A patient with contact on file and no account yet: the simulator connects as them."""

    first_name: str
    last_name: str
    date_of_birth: str
    email: str
    phone: str


def add_demo_registration(
    session: Session,
    rng: random.Random,
    practice_id: str,
    rows: list[dict[str, Any]],
    link_rows: list[dict[str, Any]],
    staff: dict[str, str],
    hasher: CodeHasher,
    today: date,
    *,
    register_codes: int = 8,
    link_codes: int = 4,
    people: int = 12,
) -> tuple[list[DemoCode], list[DemoPerson]]:
    """Issue demo codes and pick demo people among patients without accounts.

    ``staff`` is the issuing front-desk user (``id`` and ``name``).
    """
    linked = {link["patient_id"] for link in link_rows}
    keys: dict[tuple[str, str, date], int] = {}
    for row in rows:
        key = (row["first_name"].casefold(), row["last_name"].casefold(), row["date_of_birth"])
        keys[key] = keys.get(key, 0) + 1
    free = [row for row in rows if row["id"] not in linked]
    rng.shuffle(free)
    adults = [r for r in free if r["date_of_birth"] <= today - timedelta(days=18 * 365)]
    children = [r for r in free if r["date_of_birth"] > today - timedelta(days=16 * 365)]
    actor = audit.Actor("staff", staff["id"], staff["name"])
    codes: list[DemoCode] = []
    taken: set[str] = set()
    for purpose, pool, count in (
        ("register", adults, register_codes),
        ("link", children, link_codes),
    ):
        for row in [r for r in pool if r["id"] not in taken][:count]:
            taken.add(row["id"])
            relationship = "self" if purpose == "register" else "child"
            issued = create_code(
                session,
                hasher,
                practice_id=practice_id,
                patient_id=row["id"],
                purpose=purpose,
                relationship=relationship,
                account_login=None,
                days=14,
                actor=actor,
            )
            codes.append(
                DemoCode(
                    code=issued.code,
                    purpose=purpose,
                    relationship=relationship,
                    patient_id=row["id"],
                    first_name=row["first_name"],
                    last_name=row["last_name"],
                )
            )
    chosen: list[DemoPerson] = []
    for row in adults:
        if len(chosen) >= people:
            break
        key = (row["first_name"].casefold(), row["last_name"].casefold(), row["date_of_birth"])
        if row["id"] in taken or keys[key] != 1 or not (row["email"] or row["phone"]):
            continue
        taken.add(row["id"])
        chosen.append(
            DemoPerson(
                first_name=row["first_name"],
                last_name=row["last_name"],
                date_of_birth=row["date_of_birth"].isoformat(),
                email=row["email"],
                phone=row["phone"],
            )
        )
    return codes, chosen
