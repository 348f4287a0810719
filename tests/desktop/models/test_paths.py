from __future__ import annotations

from pathlib import Path

from visitdesk.desktop.models import default_data_dir, store_path_for


def test_default_data_dir_names_the_app() -> None:
    assert "VisitDesk" in default_data_dir().parts[-1]


def test_one_file_per_portal_practice_and_role(tmp_path: Path) -> None:
    a = store_path_for(tmp_path, "https://portal.example", "NORTH", "front_desk")
    assert a == store_path_for(tmp_path, "https://portal.example/", "north", "front_desk")
    assert a != store_path_for(tmp_path, "https://other.example", "NORTH", "front_desk")
    assert a != store_path_for(tmp_path, "https://portal.example", "SOUTH", "front_desk")
    assert a != store_path_for(tmp_path, "https://portal.example", "NORTH", "billing")
    assert a.parent.parent == tmp_path
    assert a.name.startswith("north-front_desk-") and a.suffix == ".sqlite3"


def test_unsafe_codes_make_safe_names(tmp_path: Path) -> None:
    path = store_path_for(tmp_path, "https://x", "../..\\CON:*?<>|", "manager")
    assert path.parent == tmp_path / "stores"
    assert all(c.isalnum() or c in "-_." for c in path.name)
    assert store_path_for(tmp_path, "https://x", "***", "../x").name.startswith("practice-x-")
