"""Render the application icon from its SVG into the files installers and window systems want.

    QT_QPA_PLATFORM=offscreen python scripts/render_icons.py

Reads `visitdesk/resources/icons/visitdesk.svg` and writes beside it: PNGs at the sizes desktop
environments ask for (the window icon and the Linux `.desktop` entry use them), `visitdesk.ico`
(Windows: the executable's icon, several sizes in one file) and `visitdesk.icns` (macOS: the
`.app` bundle's icon). Run it again after changing the SVG and commit the results; the build does
not render icons, so a build machine needs no SVG tooling.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "visitdesk" / "resources" / "icons"
SVG = ICONS / "visitdesk.svg"

#: Sizes kept as separate PNG files (hicolor theme sizes, and the window icon's).
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: Sizes inside the Windows .ico; 256 is stored as PNG, which Windows Vista and later read.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: The .icns element types that hold PNG data, by pixel size (macOS 10.7 and later).
ICNS_TYPES = (
    (16, b"icp4"),
    (32, b"icp5"),
    (64, b"icp6"),
    (128, b"ic07"),
    (256, b"ic08"),
    (512, b"ic09"),
    (1024, b"ic10"),
)


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"could not encode the {size}px icon as PNG")
    buffer.close()
    return bytes(data.data())


def ico_file(pngs: dict[int, bytes]) -> bytes:
    """An ICO container whose images are PNG streams: a header, a directory, then the images."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    directory = b""
    for size in sizes:
        data = pngs[size]
        # Width and height are one byte each; 0 means 256.
        directory += struct.pack(
            "<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset
        )
        offset += len(data)
    return header + directory + b"".join(pngs[size] for size in sizes)


def icns_file(pngs: dict[int, bytes]) -> bytes:
    """An ICNS container: 'icns' and the total length, then (type, length, PNG) elements."""
    elements = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for size, kind in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(elements)) + elements


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"{SVG} is not a valid SVG", file=sys.stderr)
        return 1
    wanted = set(PNG_SIZES) | set(ICO_SIZES) | {size for size, _ in ICNS_TYPES}
    pngs = {size: render_png(renderer, size) for size in sorted(wanted)}
    for size in PNG_SIZES:
        (ICONS / f"visitdesk-{size}.png").write_bytes(pngs[size])
    (ICONS / "visitdesk.ico").write_bytes(ico_file({s: pngs[s] for s in ICO_SIZES}))
    (ICONS / "visitdesk.icns").write_bytes(icns_file(pngs))
    print(f"wrote {len(PNG_SIZES)} PNGs, visitdesk.ico and visitdesk.icns to {ICONS.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
