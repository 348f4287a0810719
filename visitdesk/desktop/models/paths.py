"""Where the local store lives on a workstation."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "VisitDesk"


def default_data_dir() -> Path:
    """The per-user data directory, e.g. ~/.local/share/VisitDesk or %LOCALAPPDATA%\\VisitDesk."""
    return Path(user_data_dir(APP_NAME, appauthor=False))


def store_path_for(data_dir: Path, portal_url: str, practice_code: str, role: str) -> Path:
    """The database file for one role of one practice on one portal.

    One file per role: the portal feeds each role only what its screens need, so a front-desk
    sign-in on a workstation where billing worked never opens a file holding ledgers and
    payments. The name starts with the practice code and role (readable, for support staff
    looking at the folder) and ends with a hash of portal URL, code and role, so two portals or
    codes that differ only in characters a file system cannot hold never share a file.
    """
    url = portal_url.strip().rstrip("/").lower()
    code = practice_code.strip().lower()
    role_name = role.strip().lower()
    digest = hashlib.sha256(f"{url}\n{code}\n{role_name}".encode()).hexdigest()[:16]
    readable = re.sub(r"[^a-z0-9_-]+", "-", code).strip("-")[:32] or "practice"
    kind = re.sub(r"[^a-z0-9_-]+", "-", role_name).strip("-")[:16] or "staff"
    return Path(data_dir) / "stores" / f"{readable}-{kind}-{digest}.sqlite3"


def shared_store_path_for(data_dir: Path, portal_url: str, practice_code: str) -> Path:
    """Where releases before per-role stores kept one file for every role of a practice."""
    url = portal_url.strip().rstrip("/").lower()
    code = practice_code.strip().lower()
    digest = hashlib.sha256(f"{url}\n{code}".encode()).hexdigest()[:16]
    readable = re.sub(r"[^a-z0-9_-]+", "-", code).strip("-")[:32] or "practice"
    return Path(data_dir) / "stores" / f"{readable}-{digest}.sqlite3"
