"""Wire models of the office manager's staff accounts: list, add, role, disable and enable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from visitdesk.api.wire import Role, Wire

StaffUsername = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._-]+$"
    ),
]
StaffName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class StaffMember(Wire):
    id: str
    username: str
    name: str
    role: Role
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class StaffCreate(Wire):
    username: StaffUsername
    name: StaffName
    role: Role


class StaffCreated(Wire):
    """The new staff member and the one-time password to hand over (shown once, never stored)."""

    staff: StaffMember
    one_time_password: str


class StaffRoleChange(Wire):
    role: Role
