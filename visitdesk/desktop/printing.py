"""Printing a PDF made in memory (a code slip, a statement) through the Qt print dialog.

Qt cannot print a PDF file as such, so the pages are rendered to images with PDFium (pypdfium2)
and painted on the QPrinter. Rendering takes a while per page, so it runs off the GUI thread
before the dialog opens; painting the finished images on the printer is quick. "Save as PDF" does
not go through Qt at all: the bytes are written where the user chooses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
from PySide6.QtCore import QObject, QRect, Qt
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrintPreviewWidget
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from visitdesk.desktop.tasks import TaskRunner

#: Resolution pages are rendered at for printing: sharp text on office printers, and a Letter
#: page stays about 33 MB as an image.
PRINT_DPI = 300

# PDFium is not thread-safe; one rendering at a time.
_PDFIUM_LOCK = threading.Lock()


def render_pages(pdf: bytes, dpi: int = PRINT_DPI) -> list[QImage]:
    """Every page of `pdf` as an image at `dpi` (blocking; QImage may be built off the GUI)."""
    images: list[QImage] = []
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            for index in range(len(document)):
                page = document[index]
                try:
                    bitmap = page.render(scale=dpi / 72, may_draw_forms=False)
                    images.append(_to_qimage(bitmap))
                finally:
                    page.close()
        finally:
            document.close()
    return images


def _to_qimage(bitmap: pdfium.PdfBitmap) -> QImage:
    """Copy a PDFium bitmap (BGRA/BGRx/BGR) into a QImage that owns its pixels."""
    width, height, stride = bitmap.width, bitmap.height, bitmap.stride
    formats = {
        3: QImage.Format.Format_BGR888,
        4: QImage.Format.Format_RGB32,  # BGRx/BGRA in memory on little-endian = 0xAARRGGBB
    }
    image = QImage(bytes(bitmap.buffer), width, height, stride, formats[bitmap.n_channels])
    return image.copy()


def paint_on(printer: QPrinter, painter: QPainter, image: QImage) -> None:
    """Paint one page image on the printer's printable area, aspect kept."""
    area = painter.viewport()
    size = image.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRect(
        area.x() + (area.width() - size.width()) // 2, area.y(), size.width(), size.height()
    )
    painter.drawImage(target, image)


def paint_pages(printer: QPrinter, images: list[QImage]) -> None:
    """Paint page images on `printer`, each scaled to the printable area, aspect kept."""
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("The printer could not be started.")
    try:
        for number, image in enumerate(images):
            if number:
                printer.newPage()
            paint_on(printer, painter, image)
    finally:
        painter.end()


def open_print_dialog(
    printer: QPrinter,
    parent: QWidget,
    title: str,
    accepted: Callable[[], None],
    rejected: Callable[[], None],
) -> QPrintDialog:
    """Show the print dialog window-modally without blocking, and report the choice.

    QPrintDialog overloads `open(receiver, member)`, and from PySide6 6.12 on that overload hides
    the plain `QDialog.open()`: calling the base class explicitly works with every version. The
    dialog applies the chosen printer (or "Print to File") to `printer` before `accepted` runs.
    """
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(title)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(accepted)
    dialog.rejected.connect(rejected)
    QDialog.open(dialog)
    return dialog


class PrintPreview(QDialog):
    """The pages as they will print, with a toolbar to zoom, page through and print.

    Qt's own QPrintPreviewDialog opens tiny and runs its print dialog with a nested `exec()`;
    this one opens at a size that shows a whole page and asks for the printer without blocking.
    `accepted` means the pages went to the printer.
    """

    def __init__(self, printer: QPrinter, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Print preview \u2014 {title}")
        self._printer = printer
        self._title = title
        self.print_dialog: QPrintDialog | None = None
        self.view = QPrintPreviewWidget(printer, self)
        self.paintRequested = self.view.paintRequested
        self.toolbar = QToolBar()
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.print_action = self.toolbar.addAction("Print\u2026", self.ask_printer)
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.toolbar.addSeparator()
        self.toolbar.addAction("Whole page", self.view.fitInView)
        self.toolbar.addAction("Page width", self.view.fitToWidth)
        self.toolbar.addAction("Zoom in", self.view.zoomIn)
        self.toolbar.addAction("Zoom out", self.view.zoomOut)
        self.toolbar.addSeparator()
        self.toolbar.addAction("Previous page", lambda: self._turn(-1))
        self.toolbar.addAction("Next page", lambda: self._turn(1))
        self.page_label = QLabel()
        self.toolbar.addWidget(self.page_label)
        self.view.previewChanged.connect(self._show_page)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view, 1)
        layout.addWidget(close)
        self._fit_to_screen(parent)

    def _fit_to_screen(self, parent: QWidget | None) -> None:
        # A whole Letter page readable at a glance, but never larger than the screen.
        screen = (
            parent.screen() if parent is not None else None
        ) or QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)
        self.resize(min(900, int(room.width() * 0.9)), min(1000, int(room.height() * 0.9)))

    def _turn(self, step: int) -> None:
        self.view.setCurrentPage(self.view.currentPage() + step)

    def _show_page(self) -> None:
        count = self.view.pageCount()
        self.page_label.setText(f"  Page {self.view.currentPage()} of {count}")

    def ask_printer(self) -> None:
        if self.print_dialog is not None:
            return
        self.print_dialog = open_print_dialog(
            self._printer, self, f"Print {self._title.lower()}", self._print, self._not_printed
        )

    def _not_printed(self) -> None:
        self.print_dialog = None

    def _print(self) -> None:
        self.print_dialog = None
        self.view.print_()
        self.accept()


def letter_printer() -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.Letter))
    printer.setPageOrientation(QPageLayout.Orientation.Portrait)
    printer.setFullPage(False)
    return printer


class _PdfJob(QObject):
    """A PDF on its way to the printer: its pages are rendered off the GUI thread first.

    `finished(message)` reports the outcome in plain words (printed, cancelled, failed).
    """

    def __init__(
        self,
        runner: TaskRunner,
        pdf: bytes,
        title: str,
        parent: QWidget,
        finished: Callable[[str], None],
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._pdf = pdf
        self._title = title
        self._parent = parent
        self._finished = finished
        self.printer = letter_printer()
        self.printer.setDocName(title)
        self.images: list[QImage] = []


class PdfPrintJob(_PdfJob):
    """Print `pdf`: render its pages off the GUI thread, then offer the print dialog.

    `finished(message)` reports the outcome in plain words (printed, cancelled, failed).
    """

    dialog: QPrintDialog | None = None

    def start(self) -> None:
        (
            self._runner.op(render_pages, self._pdf)
            .owned_by(self)
            .success(self._rendered)
            .failure(lambda _error: self._done("The slip could not be prepared for printing."))
            .run()
        )

    def _rendered(self, images: list[QImage]) -> None:
        self.images = images
        self.dialog = open_print_dialog(
            self.printer,
            self._parent,
            f"Print {self._title.lower()}",
            self.print_now,
            lambda: self._done("Printing cancelled."),
        )

    def print_now(self) -> None:
        try:
            paint_pages(self.printer, self.images)
        except OSError as error:
            self._done(str(error))
            return
        self._done(f"{self._title} sent to the printer.")

    def _done(self, message: str) -> None:
        self.images = []
        self._pdf = b""
        self.dialog = None
        self._finished(message)
        self.deleteLater()


def choose_pdf_path(parent: QWidget, suggested_name: str) -> Path | None:
    """Ask where to save a PDF; None when the user cancels."""
    path, _filter = QFileDialog.getSaveFileName(
        parent, "Save as PDF", str(Path.home() / suggested_name), "PDF files (*.pdf)"
    )
    if not path:
        return None
    chosen = Path(path)
    return chosen if chosen.suffix.lower() == ".pdf" else chosen.with_suffix(".pdf")


# --------------------------------------------------------------------------- statements (issue 5)


def pdf_page_count(path: Path) -> int:
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(str(path))
        try:
            return len(document)
        finally:
            document.close()


def render_page(path: Path, index: int, dpi: int = PRINT_DPI) -> QImage:
    """One page of the PDF file at `path` (blocking; for long documents, page by page)."""
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(str(path))
        try:
            page = document[index]
            try:
                return _to_qimage(page.render(scale=dpi / 72, may_draw_forms=False))
            finally:
                page.close()
        finally:
            document.close()


class PdfPreviewJob(_PdfJob):
    """Print a short PDF (a statement, a reprint) through Qt's print preview dialog.

    The pages are rendered off the GUI thread first; the preview then only paints them.
    """

    dialog: PrintPreview | None = None

    def start(self) -> None:
        (
            self._runner.op(render_pages, self._pdf, 150)
            .owned_by(self)
            .success(self._rendered)
            .failure(lambda _error: self._done("The statement could not be prepared for printing."))
            .run()
        )

    def _rendered(self, images: list[QImage]) -> None:
        self.images = images
        dialog = PrintPreview(self.printer, self._title, self._parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.paintRequested.connect(lambda printer: paint_pages(printer, self.images))
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.open()

    def _closed(self, result: int) -> None:
        self._done(f"{self._title} sent to the printer." if result else "Printing cancelled.")

    def _done(self, message: str) -> None:
        self.images = []
        self.dialog = None
        self._finished(message)
        self.deleteLater()


class PdfFilePrintJob(QObject):
    """Print a long PDF file (a statement run) page by page without holding it in memory.

    After the print dialog, each page is rendered on a worker thread and painted on the printer
    when it is ready, so the GUI stays responsive; `progress(done, total)` and `cancel()` work
    between pages (pages already sent stay sent: the printer spools them).
    """

    def __init__(
        self,
        runner: TaskRunner,
        path: Path,
        title: str,
        parent: QWidget,
        finished: Callable[[str], None],
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._path = path
        self._title = title
        self._parent = parent
        self._finished = finished
        self._progress = progress
        self.printer = letter_printer()
        self.printer.setDocName(title)
        self.painter: QPainter | None = None
        self.total = 0
        self.done = 0
        self._cancelled = False
        self.dialog: QPrintDialog | None = None

    def start(self) -> None:
        self.dialog = open_print_dialog(
            self.printer,
            self._parent,
            f"Print {self._title}",
            self.print_now,
            lambda: self._done("Printing cancelled."),
        )

    def print_now(self) -> None:
        self.dialog = None
        (
            self._runner.op(pdf_page_count, self._path)
            .owned_by(self)
            .success(self._begin)
            .failure(lambda _error: self._done("The file could not be read for printing."))
            .run()
        )

    def cancel(self) -> None:
        self._cancelled = True

    def _begin(self, total: int) -> None:
        self.total = total
        self.painter = QPainter()
        if not self.painter.begin(self.printer):
            self._done("The printer could not be started.")
            return
        self._next()

    def _next(self) -> None:
        if self._cancelled or self.done >= self.total:
            self._finish()
            return
        (
            self._runner.op(render_page, self._path, self.done)
            .owned_by(self)
            .success(self._paint)
            .failure(lambda _error: self._finish("A page could not be rendered; printing stopped."))
            .run()
        )

    def _paint(self, image: QImage) -> None:
        assert self.painter is not None
        if self.done:
            self.printer.newPage()
        paint_on(self.printer, self.painter, image)
        self.done += 1
        if self._progress is not None:
            self._progress(self.done, self.total)
        self._next()

    def _finish(self, problem: str = "") -> None:
        if self.painter is not None and self.painter.isActive():
            self.painter.end()
        if problem:
            self._done(problem)
        elif self._cancelled:
            self._done(f"Printing stopped after {self.done:,} of {self.total:,} pages.")
        else:
            self._done(f"{self.total:,} pages of {self._title} sent to the printer.")

    def _done(self, message: str) -> None:
        self.painter = None
        self.dialog = None
        self._finished(message)
        self.deleteLater()
