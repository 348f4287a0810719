"""Help ▸ About VisitDesk: the version from the package metadata and the portal this desk uses."""

from __future__ import annotations

import struct
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from visitdesk.desktop.about import APP_NAME, AboutDialog, app_icon, app_version, icon_file


def _about_action(window) -> QAction:
    menus = {action.text().replace("&", ""): action.menu() for action in window.menuBar().actions()}
    help_menu = menus["Help"]
    return next(a for a in help_menu.actions() if a.text().replace("&", "") == f"About {APP_NAME}")


def test_about_box_shows_the_version_and_the_portal(qtbot, make_desk, practice, tmp_path: Path):
    desk = make_desk(practice, "front_desk")
    window = desk.window
    qtbot.waitUntil(window.isVisible)

    _about_action(window).trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(AboutDialog)))
    dialog = next(d for d in window.findChildren(AboutDialog) if d.isVisible())

    assert dialog.title.text() == f"{APP_NAME} {app_version()}"
    assert app_version() != "unknown"
    assert dialog.portal.text() == f"Portal: {practice.base_url}"
    assert practice.practice_code in dialog.practice.text()
    for label in (dialog.title, dialog.portal, dialog.practice, dialog.details):
        assert label.textFormat() == Qt.TextFormat.PlainText
    dialog.grab().save(str(tmp_path / "about.png"))

    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.findChildren(AboutDialog))


def test_the_application_icon_has_every_rendered_size(qapp):
    sizes = {size.width() for size in app_icon().availableSizes()}
    assert {16, 32, 48, 256} <= sizes


def test_the_installer_icons_hold_png_images_of_every_size():
    icons = icon_file(16).parent
    ico = (icons / "visitdesk.ico").read_bytes()
    _reserved, kind, count = struct.unpack_from("<HHH", ico)
    assert (kind, count) == (1, 7)
    sizes = []
    for index in range(count):
        width, _h, _c, _r, _p, _b, length, offset = struct.unpack_from(
            "<BBBBHHII", ico, 6 + 16 * index
        )
        assert ico[offset : offset + 8] == b"\x89PNG\r\n\x1a\n"
        assert offset + length <= len(ico)
        sizes.append(width or 256)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    icns = (icons / "visitdesk.icns").read_bytes()
    assert icns[:4] == b"icns"
    assert struct.unpack_from(">I", icns, 4)[0] == len(icns)
