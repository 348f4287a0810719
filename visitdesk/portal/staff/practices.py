"""Setting up a practice for a deployment (no demo data): the practice and its first office
manager, and the list of practices. Used by `visitdesk-portal create-practice / list-practices`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from visitdesk.api.wire import Role
from visitdesk.portal.accounts.account_rules import password_problem
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.models import Patient, Practice, StaffUser

_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_USERNAME = re.compile(r"^[a-z0-9._-]{2,64}$")


class SetupError(ValueError):
    """Input the command refuses, with the reason in words."""


@dataclass(frozen=True)
class PracticeSummary:
    code: str
    name: str
    timezone: str
    staff: int
    managers: int
    patients: int


def create_practice(
    session: Session,
    *,
    code: str,
    name: str,
    timezone: str,
    phone: str,
    manager_username: str,
    manager_name: str,
    password_hash: str,
) -> str:
    """Create the practice and its first manager (the caller checked the password with
    `check_manager_password` and hashed it outside the transaction); returns the practice id."""
    code, username = code.strip().casefold(), manager_username.strip().casefold()
    if not _CODE.match(code):
        raise SetupError("The practice code must be 2-64 letters, digits, '.', '_' or '-'.")
    if not name.strip() or not manager_name.strip():
        raise SetupError("The practice and the manager need a name.")
    if not _USERNAME.match(username):
        raise SetupError("The username must be 2-64 letters, digits, '.', '_' or '-'.")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SetupError(f"Unknown timezone {timezone!r} (e.g. America/New_York).") from exc
    if session.scalar(select(Practice.id).where(Practice.code == code)) is not None:
        raise SetupError(f"A practice with code {code!r} already exists.")
    practice = Practice(code=code, name=name.strip(), timezone=timezone, phone=phone.strip())
    session.add(practice)
    session.flush()
    manager = StaffUser(
        practice_id=practice.id,
        username=username,
        name=manager_name.strip(),
        role=Role.MANAGER.value,
        password_hash=password_hash,
    )
    session.add(manager)
    session.flush()
    audit.record(
        session,
        practice.id,
        audit.SYSTEM,
        "staff.created",
        "staff",
        manager.id,
        details={"role": Role.MANAGER.value, "by": "create-practice"},
    )
    return practice.id


def check_manager_password(password: str, username: str) -> None:
    problem = password_problem(password, username=username.strip().casefold(), email=None)
    if problem:
        raise SetupError(problem)


def list_practices(session: Session) -> list[PracticeSummary]:
    staff = (
        select(
            StaffUser.practice_id,
            func.count().label("staff"),
            func.sum(
                case(
                    (and_(StaffUser.role == Role.MANAGER.value, StaffUser.active.is_(True)), 1),
                    else_=0,
                )
            ).label("managers"),
        )
        .group_by(StaffUser.practice_id)
        .subquery()
    )
    patients = (
        select(Patient.practice_id, func.count().label("patients"))
        .group_by(Patient.practice_id)
        .subquery()
    )
    rows = session.execute(
        select(Practice, staff.c.staff, staff.c.managers, patients.c.patients)
        .outerjoin(staff, staff.c.practice_id == Practice.id)
        .outerjoin(patients, patients.c.practice_id == Practice.id)
        .order_by(Practice.code)
    ).all()
    return [
        PracticeSummary(
            practice.code, practice.name, practice.timezone, int(n or 0), int(m or 0), int(p or 0)
        )
        for practice, n, m, p in rows
    ]
