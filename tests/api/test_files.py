"""Writing a file whole: all of it or none of it, private by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from visitdesk.api.files import write_whole


def test_a_saved_file_replaces_the_old_one_whole_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "statement.pdf"
    target.write_bytes(b"old")
    assert write_whole(target, b"%PDF-new") == 8
    assert target.read_bytes() == b"%PDF-new"
    assert [p.name for p in tmp_path.iterdir()] == ["statement.pdf"]


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_bytes(b"kept")
    with pytest.raises(TypeError):
        write_whole(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]


def test_the_new_file_is_private_unless_asked_otherwise(tmp_path: Path) -> None:
    key, cert = tmp_path / "portal.key", tmp_path / "portal.pem"
    write_whole(key, b"secret")
    write_whole(cert, b"public", 0o644)
    assert (key.stat().st_mode & 0o777, cert.stat().st_mode & 0o777) == (0o600, 0o644)
