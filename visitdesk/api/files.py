"""Writing a file whole: a reader (or a crash midway) finds the old file or the whole new one.

This module imports nothing of ours: the desk (exports, statement runs) and the portal (its TLS
keys and certificates) both use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_whole(path: Path, data: bytes, mode: int = 0o600) -> int:
    """Write ``data`` to ``path`` through a temporary file beside it, synced and renamed into
    place; returns the bytes written. The new file has ``mode`` (by default only its owner may
    read it, which suits patient data and private keys)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return len(data)
