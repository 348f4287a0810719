"""The package boundaries of DESIGN section 3, checked on the source rather than trusted."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "visitdesk"
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "qasync", "shiboken6")
QT_FREE = ["sync", "matching", "reports", "portal", "desktop/models"]


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", QT_FREE)
def test_core_packages_never_import_qt(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in python_files(package)
        for name in imported_modules(path)
        if name.split(".")[0] in QT_MODULES
    ]
    assert offenders == []


def test_portal_never_imports_the_desktop() -> None:
    offenders = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in python_files("portal")
        for name in imported_modules(path)
        if name.startswith("visitdesk.desktop")
    ]
    assert offenders == []


def test_the_checker_sees_imports() -> None:
    # Guard against a checker that passes because it parses nothing.
    assert "PySide6.QtCore" in imported_modules(ROOT / "desktop" / "tasks.py")
    assert len(python_files("sync")) >= 3
