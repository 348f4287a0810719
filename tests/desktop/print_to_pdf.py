"""Drive Qt's print dialog as a user would to print to a PDF file, and read what was printed.

The offscreen platform has no printer, but Qt's dialog always offers "Print to File (PDF)": a
test picks it, types the file name and presses Print, so the whole print path of the app runs.
"""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrintDialog
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLineEdit


def print_to_pdf(qtbot, dialog: QPrintDialog, target: Path) -> None:
    """Choose "Print to File (PDF)" in `dialog`, name `target`, and press Print."""
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    assert not target.exists()  # an existing file would make Qt ask before overwriting
    printers = dialog.findChild(QComboBox, "printers")
    file_entry = next(n for n in range(printers.count()) if "PDF" in printers.itemText(n).upper())
    printers.setCurrentIndex(file_entry)
    dialog.findChild(QLineEdit, "filename").setText(str(target))
    buttons = dialog.findChild(QDialogButtonBox)
    qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def printed_pages(target: Path) -> int:
    return len(PdfReader(io.BytesIO(target.read_bytes())).pages)


def first_page_has_ink(target: Path) -> bool:
    """The first printed page is not blank paper (the page images made it onto the printer)."""
    from visitdesk.desktop.printing import render_pages

    page = render_pages(target.read_bytes(), dpi=20)[0]
    dark = sum(
        1
        for x in range(page.width())
        for y in range(page.height())
        if page.pixelColor(x, y).lightness() < 160
    )
    return dark > 50
