"""A landscape PDF of a titled table (linked accounts, their review, the audit trail).

Plain data in, PDF bytes out: the caller formats every cell as text. Long tables flow over as
many pages as they need, with the header row repeated and "page N of M" in the footer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from visitdesk.reports.fonts import printable, register

INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
RULE = colors.HexColor("#d1d5db")
HEAD = colors.HexColor("#eef2f7")


@dataclass(frozen=True)
class TableReport:
    title: str
    #: Under the title: the practice, who printed it, when, what filter.
    subtitle: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    #: Relative column widths (any unit); equal when empty.
    widths: Sequence[float] = field(default_factory=tuple)
    #: A line under the table (e.g. "the first 5,000 of 12,345 rows").
    note: str = ""
    empty_text: str = "Nothing to list."


class _NumberedCanvas(Canvas):
    """Holds pages until the end so each footer can say how many pages there are."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, object]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(register()[0], 8)
            self.setFillColor(MUTED)
            width, _height = self._pagesize
            self.drawRightString(
                width - 0.5 * inch, 0.35 * inch, f"Page {self._pageNumber} of {total}"
            )
            super().showPage()
        super().save()


def render_table_report(report: TableReport) -> bytes:
    buffer = io.BytesIO()
    pagesize = landscape(LETTER)
    margin = 0.5 * inch
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=0.6 * inch,
        title=report.title,
        creator="VisitDesk",
    )
    # The embedded DejaVu faces: names such as "Nguyễn" print as written.
    sans, bold = register()
    title = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, textColor=INK)
    small = ParagraphStyle("small", fontName=sans, fontSize=9, leading=12, textColor=MUTED)
    cell = ParagraphStyle("cell", fontName=sans, fontSize=7.5, leading=9.5, textColor=INK)
    head = ParagraphStyle("head", parent=cell, fontName=bold)
    story: list[object] = [
        Paragraph(escape(report.title), title),
        Paragraph(escape(printable(report.subtitle)), small),
        Spacer(1, 0.15 * inch),
    ]
    usable = pagesize[0] - 2 * margin
    weights = list(report.widths) or [1.0] * len(report.columns)
    total = sum(weights)
    col_widths = [usable * weight / total for weight in weights]
    if report.rows:
        data = [[Paragraph(escape(c), head) for c in report.columns]]
        # Patient text is escaped: reportlab paragraphs read markup.
        data += [
            [Paragraph(escape(printable(value)), cell) for value in row] for row in report.rows
        ]
        table = LongTable(data, colWidths=col_widths, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), HEAD),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        story.append(table)
    else:
        story.append(Paragraph(escape(report.empty_text), small))
    if report.note:
        story += [Spacer(1, 0.1 * inch), Paragraph(escape(report.note), small)]
    doc.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
