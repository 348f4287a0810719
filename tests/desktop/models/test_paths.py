from __future__ import annotations

from pathlib import Path

from visitdesk.desktop.models import default_data_dir, store_path_for


def test_default_data_dir_names_the_app() -> None:
    assert "VisitDesk" in default_data_dir().parts[-1]


def test_one_file_per_portal_and_practice(tmp_path: Path) -> None:
    a = store_path_for(tmp_path, "https://portal.example", "NORTH")
    assert a == store_path_for(tmp_path, "https://portal.example/", "north")
    assert a != store_path_for(tmp_path, "https://other.example", "NORTH")
    assert a != store_path_for(tmp_path, "https://portal.example", "SOUTH")
    assert a.parent.parent == tmp_path
    assert a.name.startswith("north-") and a.suffix == ".sqlite3"


def test_unsafe_codes_make_safe_names(tmp_path: Path) -> None:
    path = store_path_for(tmp_path, "https://x", "../..\\CON:*?<>|")
    assert path.parent == tmp_path / "stores"
    assert all(c.isalnum() or c in "-_." for c in path.name)
    assert store_path_for(tmp_path, "https://x", "***").name.startswith("practice-")
