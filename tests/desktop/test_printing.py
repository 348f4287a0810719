"""Printing a PDF made in memory: pages rendered with PDFium and painted on a QPrinter."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from PySide6.QtPrintSupport import QPrinter

from visitdesk.desktop.printing import letter_printer, paint_pages, render_pages
from visitdesk.reports.code_slip import CodeSlip, render_code_slip


def _slip_pdf() -> bytes:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    return render_code_slip(
        CodeSlip(
            "Riverside Family Medicine",
            "(413) 555-0100",
            "Ann",
            "Lee",
            "K7QM-3XHP-TW9R",
            "register",
            now,
            now + timedelta(days=14),
            ZoneInfo("America/New_York"),
        )
    )


def test_pages_render_at_print_resolution(qapp) -> None:
    (image,) = render_pages(_slip_pdf(), dpi=150)
    assert image.width() == 1275 and abs(image.height() - 1650) <= 1  # 8.5 x 11 in at 150 dpi
    # The header band is the practice's blue, not blank paper.
    colour = image.pixelColor(20, 20)
    assert (colour.red(), colour.green(), colour.blue()) == (0x0F, 0x4C, 0x81)


def test_painting_on_a_printer_prints_the_page(qapp, tmp_path) -> None:
    printer = letter_printer()
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    target = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(target))
    paint_pages(printer, render_pages(_slip_pdf(), dpi=100))
    assert len(PdfReader(io.BytesIO(target.read_bytes())).pages) == 1
    (printed,) = render_pages(target.read_bytes(), dpi=30)
    dark = sum(
        1
        for x in range(printed.width())
        for y in range(printed.height())
        if printed.pixelColor(x, y).lightness() < 128
    )
    assert dark > 500  # the band, the code and the steps made it onto the printed page
