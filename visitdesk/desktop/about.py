"""The application's name, version and icon, and the Help ▸ About box.

The version comes from the installed package's metadata, which a frozen build carries too
(`build_installer.spec` copies it); a plain source checkout without an install falls back to
`pyproject.toml`, so the About box never shows a made-up number.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata, resources
from pathlib import Path

from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

APP_NAME = "VisitDesk"
DISTRIBUTION = "visitdesk"
#: The PNG renderings of `resources/icons/visitdesk.svg` the window icon is built from.
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_version() -> str:
    """The installed distribution's version; from pyproject.toml in an uninstalled checkout."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        with pyproject.open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def is_frozen() -> bool:
    """Whether this is the installed (PyInstaller) build rather than Python running the source."""
    return bool(getattr(sys, "frozen", False))


def icon_file(size: int) -> Path:
    return Path(str(resources.files("visitdesk.resources").joinpath(f"icons/visitdesk-{size}.png")))


def app_icon() -> QIcon:
    """The window icon, from the pre-rendered PNGs (no SVG plugin needed at run time)."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = icon_file(size)
        if path.is_file():
            icon.addFile(str(path))
    return icon


class AboutDialog(QDialog):
    """Name, version and build, and which portal and practice this desk is signed in to."""

    def __init__(
        self, portal_url: str, practice_name: str, practice_code: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.setObjectName("aboutDialog")

        picture = QLabel()
        picture.setPixmap(QPixmap(str(icon_file(64))))
        picture.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.title = _plain(f"{APP_NAME} {app_version()}", "screenTitle")
        build = "installed build" if is_frozen() else "running from the Python package"
        self.details = _plain(
            f"Staff desktop for the patient portal ({build}; Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, Qt {qVersion()})."
        )
        self.portal = _plain(f"Portal: {portal_url}")
        self.portal.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The practice name is typed by people: plain text, like every other label.
        self.practice = _plain(f"Practice: {practice_name} ({practice_code})")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)

        text = QVBoxLayout()
        for label in (self.title, self.details, self.portal, self.practice):
            text.addWidget(label)
        text.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(picture)
        row.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(460, 200)


def _plain(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label
