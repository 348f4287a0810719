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


def store_path_for(data_dir: Path, portal_url: str, practice_code: str) -> Path:
    """The database file for one practice on one portal.

    The name starts with the practice code (readable, for support staff looking at the folder)
    and ends with a hash of portal URL and code, so two portals or codes that differ only in
    characters a file system cannot hold never share a file.
    """
    url = portal_url.strip().rstrip("/").lower()
    code = practice_code.strip().lower()
    digest = hashlib.sha256(f"{url}\n{code}".encode()).hexdigest()[:16]
    readable = re.sub(r"[^a-z0-9_-]+", "-", code).strip("-")[:32] or "practice"
    return Path(data_dir) / "stores" / f"{readable}-{digest}.sqlite3"
