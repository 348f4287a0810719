"""Workstation settings, declared once with type, default and description.

Stored as JSON in the data directory. Nothing secret and no patient data lives here: the staff
password is never stored, and the refresh token goes to the OS keyring.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from visitdesk.sync.engine import PUSH_CONCURRENCY

log = logging.getLogger(__name__)

#: Most push workers a settings file may ask for: more only queue on the portal's database.
MAX_PUSH_CONCURRENCY = 16

SETTINGS_FILE = "settings.json"


@dataclass
class Settings:
    portal_url: str = ""
    """Address of the portal service, e.g. https://portal.example-clinic.org."""
    practice_code: str = ""
    """The practice code staff sign in to."""
    username: str = ""
    """The last staff username used on this workstation (pre-filled at sign-in)."""
    role: str = ""
    """That staff member's role: picks the role's local store when the desk opens offline."""
    ca_file: str = ""
    """CA certificate file that signs the portal's certificate; empty for a publicly trusted one."""
    idle_lock_minutes: int = 10
    """Minutes without input before the window locks and asks for the password again."""
    sync_wait_seconds: float = 20.0
    """How long one long-poll of the change feed may wait for news before asking again."""
    push_concurrency: int = PUSH_CONCURRENCY
    """Batches of an import sent to the portal at once (1-16); other changes always go one at a
    time, in the order they were made."""
    message_notices: bool = True
    """Show a desktop notice ("New portal message", no patient details) when patients write."""
    arrival_sound: bool = True
    """Play the system's alert sound when a patient arrives (where the workstation has sound)."""
    arrival_notices: bool = True
    """Show a desktop notice ("A patient has arrived", no patient details) on each arrival."""
    waiting_room_initials: bool = False
    """The waiting-room display shows initials only instead of first name and last initial."""

    @classmethod
    def load(cls, data_dir: Path) -> Settings:
        path = data_dir / SETTINGS_FILE
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError):
            log.warning("Settings file is unreadable; using defaults")
            return cls()
        if not isinstance(raw, dict):
            return cls()
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        default = cls()
        for name, value in raw.items():
            if name in known and isinstance(value, type(getattr(default, name))):
                values[name] = value
        settings = cls(**values)
        settings.push_concurrency = min(max(1, settings.push_concurrency), MAX_PUSH_CONCURRENCY)
        return settings

    def save(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".settings-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)
        os.replace(tmp, data_dir / SETTINGS_FILE)
