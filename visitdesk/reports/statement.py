"""The patient statement: a US Letter PDF drawn with reportlab's canvas, ready for window envelopes.

**Envelope windows.** Page 1 is folded in three (letter fold) so that its top panel, 3 2/3 inches,
faces out of a standard #10 double-window envelope (4 1/8 x 9 1/2 in). `visitdesk.reports.address`
works out, from the envelope's windows and how far the insert can move inside it, the regions of
the page that show through the windows wherever the insert sits: ``RETURN_WINDOW`` (logo, practice
name and return address) and ``ADDRESS_WINDOW`` (the guarantor's name and address, printed 1/8 in
inside it, wrapped, never cut).

The top panel is also the **remittance stub**: the patient tears it off along the dashed line at
the fold and returns it with the payment (account, amount due, due date, amount enclosed, card
fields, remit-to address). Below the fold: the statement proper (header, aging table, line items
since the last statement with a running balance, a message chosen by the oldest aging bucket, how to
pay online with a QR code). Line items that do not fit continue on further pages.

**Totals add up by construction**: the items start from the balance of the previous statement and
each row's running balance adds its amount; the last running balance is the amount due, which is
also the sum of the aging buckets (see `StatementData.check`).

Patient text is drawn with ``drawString`` only (never parsed as markup), so a hostile name prints as
typed, less the invisible characters that could reorder it. Text that the standard PDF fonts cannot
encode is drawn in the DejaVu Sans shipped with the package (`visitdesk.reports.fonts`).
The QR code carries the practice's pay page (one code per practice, encoded once per process: the
account number is printed beside it) because encoding a code per statement would double the time
of a large run.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from reportlab import rl_config
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from visitdesk.api.text import strip_hidden
from visitdesk.api.wire_billing import BUCKET_LABELS, AgingBuckets
from visitdesk.reports.address import ADDRESS_BLOCK, ADDRESS_WINDOW, RETURN_WINDOW, split_words
from visitdesk.reports.address import layout as address_layout
from visitdesk.reports.fonts import font_for, printable

# Binary (Flate only) streams: ASCII85 on top costs a third of the rendering time and 25% more
# bytes, and nothing reads these files as 7-bit text.
rl_config.useA85 = 0

PAGE_WIDTH, PAGE_HEIGHT = LETTER
__all__ = ["ADDRESS_WINDOW", "RETURN_WINDOW", "StatementData", "render_statement"]
#: Where the tear-off stub ends: the first fold of a letter fold.
FOLD_Y = 11 / 3

BRAND = HexColor("#0f4c81")
INK = HexColor("#1f2933")
MUTED = HexColor("#52606d")
RULE = HexColor("#bcccdc")
SHADE = HexColor("#eef2f6")
ALERT = HexColor("#9b1c1c")

FONT, BOLD = "Helvetica", "Helvetica-Bold"

#: Line-item rows on the first page and on each continuation page.
FIRST_PAGE_ROWS = 14
NEXT_PAGE_ROWS = 48
ROW = 12.5


@dataclass(frozen=True)
class PracticeHeader:
    name: str
    address_lines: tuple[str, ...]
    phone: str = ""
    billing_phone: str = ""
    pay_url: str = ""
    remit_to: tuple[str, ...] = ()

    @property
    def initials(self) -> str:
        words = [w for w in self.name.replace("&", " ").split() if w[:1].isalpha()]
        skip = {"of", "and", "the", "for"}
        letters = [w[0].upper() for w in words if w.lower() not in skip]
        return "".join(letters[:3]) or "?"


@dataclass(frozen=True)
class StatementLine:
    posted: date
    service: date | None
    patient: str
    description: str
    provider: str
    amount_cents: int


@dataclass(frozen=True)
class StatementData:
    practice: PracticeHeader
    account: str
    guarantor_name: str
    address_lines: tuple[str, ...]
    statement_date: date
    due_date: date
    previous_balance_cents: int
    previous_statement_date: date | None
    lines: tuple[StatementLine, ...]
    aging: AgingBuckets
    pending_insurance_cents: int = 0
    message: str = ""
    alert: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def amount_due_cents(self) -> int:
        return self.aging.total

    def check(self) -> None:
        """Refuse a statement whose items do not add up to the aged balance."""
        items = self.previous_balance_cents + sum(line.amount_cents for line in self.lines)
        if items != self.aging.total:
            raise ValueError(
                f"statement for account {self.account} does not add up: "
                f"items {items} != aged balance {self.aging.total}"
            )


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def us_date(day: date | None) -> str:
    return "" if day is None else f"{day:%m/%d/%Y}"


def page_count(data: StatementData) -> int:
    return len(_pages(_item_rows(data)))


# --------------------------------------------------------------------------- drawing helpers


def _fit(text: str, font: str, size: float, width: float) -> str:
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    ellipsis = "\u2026"
    while text and pdfmetrics.stringWidth(text + ellipsis, font, size) > width:
        text = text[:-1]
    return text.rstrip() + ellipsis


class _Pen:
    """Canvas calls in inches from the top-left, the way the layout is specified."""

    def __init__(self, canvas: Canvas) -> None:
        self.c = canvas

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float = 9,
        font: str = FONT,
        color: Color = INK,
        align: str = "left",
        width: float | None = None,
    ) -> None:
        text = printable(text)
        face = font_for(text, font)
        if width is not None:
            text = _fit(text, face, size, width * inch)
        self.c.setFont(face, size)
        self.c.setFillColor(color)
        px, py = x * inch, PAGE_HEIGHT - y * inch
        if align == "right":
            self.c.drawRightString(px, py, text)
        elif align == "center":
            self.c.drawCentredString(px, py, text)
        else:
            self.c.drawString(px, py, text)

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: Color | None = None,
        stroke: Color | None = RULE,
        width: float = 0.6,
    ) -> None:
        self.c.setLineWidth(width)
        if fill is not None:
            self.c.setFillColor(fill)
        if stroke is not None:
            self.c.setStrokeColor(stroke)
        self.c.rect(
            x * inch,
            PAGE_HEIGHT - (y + h) * inch,
            w * inch,
            h * inch,
            fill=fill is not None,
            stroke=stroke is not None,
        )

    def line(
        self, x1: float, y1: float, x2: float, y2: float, color: Color = RULE, width: float = 0.6
    ) -> None:
        self.c.setStrokeColor(color)
        self.c.setLineWidth(width)
        self.c.line(x1 * inch, PAGE_HEIGHT - y1 * inch, x2 * inch, PAGE_HEIGHT - y2 * inch)

    def wrapped(
        self,
        x: float,
        y: float,
        text: str,
        width: float,
        size: float = 9,
        leading: float = 11.5,
        font: str = FONT,
        color: Color = INK,
        max_lines: int = 6,
    ) -> float:
        text = strip_hidden(text, keep_newlines=True)
        face = font_for(text, font)
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            lines += split_words(paragraph, face, size, width * inch)
        for number, line in enumerate(lines[:max_lines]):
            self.text(x, y + number * leading / 72, line, size, face, color)
        return y + len(lines[:max_lines]) * leading / 72


def _logo(pen: _Pen, x: float, y: float, size: float, initials: str) -> None:
    """The practice mark: a navy roundel with the initials and a small white cross."""
    c = pen.c
    r = size * inch / 2
    cx, cy = x * inch + r, PAGE_HEIGHT - y * inch - r
    c.setFillColor(BRAND)
    c.circle(cx, cy, r, stroke=0, fill=1)
    c.setStrokeColor(white)
    c.setLineWidth(max(0.6, r / 14))
    c.circle(cx, cy, r * 0.86, stroke=1, fill=0)
    arm = r * 0.16
    c.setFillColor(white)
    c.rect(cx - arm / 2, cy + r * 0.38, arm, arm * 3, stroke=0, fill=1)
    c.rect(cx - arm * 1.5, cy + r * 0.38 + arm, arm * 3, arm, stroke=0, fill=1)
    font_size = r * (0.78 if len(initials) <= 2 else 0.6)
    c.setFont(BOLD, font_size)
    c.drawCentredString(cx, cy - r * 0.42, initials)


@lru_cache(maxsize=4)
def _qr_modules(url: str) -> tuple[float, tuple[tuple[float, float, float, float], ...]]:
    widget = QrCodeWidget(url, barLevel="M", barBorder=0)
    x0, y0, x1, y1 = widget.getBounds()
    group = widget.draw()
    rects = tuple(
        (shape.x, shape.y, shape.width, shape.height)
        for shape in group.contents
        if hasattr(shape, "width") and shape.fillColor is not None
    )
    return max(x1 - x0, y1 - y0), rects


def _qr(pen: _Pen, x: float, y: float, size: float, url: str) -> None:
    extent, rects = _qr_modules(url)
    scale = size * inch / extent
    c = pen.c
    c.saveState()
    c.translate(x * inch, PAGE_HEIGHT - (y + size) * inch)
    c.scale(scale, scale)
    c.setFillColor(INK)
    path = c.beginPath()
    for rx, ry, rw, rh in rects:
        path.rect(rx, ry, rw, rh)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


# --------------------------------------------------------------------------- the statement


def render_statement(data: StatementData) -> bytes:
    """The statement as PDF bytes; identical data gives identical bytes."""
    data.check()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=1, pageCompression=1)
    canvas.setTitle(f"Statement {data.account} {data.statement_date.isoformat()}")
    canvas.setAuthor(data.practice.name)
    canvas.setCreator("VisitDesk")
    draw_statement(canvas, data)
    canvas.save()
    return buffer.getvalue()


def draw_statement(canvas: Canvas, data: StatementData) -> None:
    pen = _Pen(canvas)
    chunks = _pages(_item_rows(data))
    pages = len(chunks)
    _stub(pen, data)
    _body_header(pen, data)
    _items(pen, chunks[0], 5.92, more=pages > 1)
    _message_and_pay(pen, data)
    _footer(pen, data, 1, pages)
    for page, chunk in enumerate(chunks[1:], start=2):
        canvas.showPage()
        _continuation_header(pen, data, page, pages)
        _items(pen, chunk, 1.55, more=page < pages)
        _footer(pen, data, page, pages)
    canvas.showPage()


def _stub(pen: _Pen, data: StatementData) -> None:
    practice = data.practice
    # The return window shows 2 1/4 x 1/2 in wherever the insert sits: a small logo beside the
    # practice's name (up to two lines) and the first two lines of its address.
    rx, ry, rw, _rh = RETURN_WINDOW
    _logo(pen, rx + 0.04, ry + 0.05, 0.4, practice.initials)
    x = rx + 0.5
    y = pen.wrapped(x, ry + 0.13, practice.name, rw - 0.55, 8, 8.6, BOLD, BRAND, max_lines=2)
    for number, line in enumerate(practice.address_lines[:2]):
        pen.text(x, y + 0.02 + number * 0.11, line, 6.5, color=MUTED, width=rw - 0.55)

    # The guarantor's name and address: wrapped to the block, never cut (see reports.address).
    block = address_layout(data.guarantor_name, data.address_lines)
    bx0, by0, _bw, _bh = ADDRESS_BLOCK
    for number, (line, face) in enumerate(block.lines):
        pen.text(
            bx0, by0 + (block.size * 0.75 + number * block.leading) / 72, line, block.size, face
        )

    # The remittance side of the stub.
    bx, by, bw = 4.55, 0.5, 3.45
    pen.text(bx, by + 0.02, "PATIENT STATEMENT \u2014 REMITTANCE", 8, BOLD, BRAND)
    fields = (
        ("Statement date", us_date(data.statement_date)),
        ("Account number", data.account),
        ("Pay by", us_date(data.due_date)),
        ("Amount due", _due_text(data)),
    )
    top = by + 0.12
    for number, (label, value) in enumerate(fields):
        row_y = top + number * 0.2
        pen.rect(bx, row_y, bw, 0.2, fill=SHADE if number % 2 == 0 else None, stroke=RULE)
        pen.text(bx + 0.08, row_y + 0.14, label, 7.5, color=MUTED)
        bold = number == 3
        pen.text(
            bx + bw - 0.08,
            row_y + 0.145,
            value,
            9.5 if bold else 8.5,
            BOLD if bold else FONT,
            align="right",
        )
    row_y = top + 4 * 0.2
    pen.rect(bx, row_y, bw, 0.28, stroke=BRAND, width=1)
    pen.text(bx + 0.08, row_y + 0.19, "Amount enclosed", 8, BOLD)
    pen.text(bx + 1.45, row_y + 0.2, "$", 10, BOLD)
    pen.line(bx + 1.58, row_y + 0.22, bx + bw - 0.12, row_y + 0.22, INK, 0.5)

    card_y = row_y + 0.42
    pen.text(bx, card_y, "To pay by card, complete below:", 7.5, BOLD)
    brands = ("Visa", "Mastercard", "Amex", "Discover")
    offset = 0.0
    for brand in brands:
        pen.rect(bx + offset, card_y + 0.07, 0.09, 0.09, stroke=INK, width=0.5)
        pen.text(bx + offset + 0.13, card_y + 0.155, brand, 7)
        offset += 0.2 + pdfmetrics.stringWidth(brand, FONT, 7) / inch + 0.12
    for number, (label, start, end) in enumerate(
        (("Card number", 0.0, 3.45), ("Expires (MM/YY)", 0.0, 1.55), ("Signature", 1.65, 3.45))
    ):
        line_y = card_y + 0.4 + (0 if number == 0 else 0.27)
        pen.line(bx + start, line_y, bx + end, line_y, INK, 0.5)
        pen.text(bx + start, line_y + 0.1, label, 6.5, color=MUTED)
    for box in range(1, 16):
        tick = bx + box * 3.45 / 16
        pen.line(tick, card_y + 0.34, tick, card_y + 0.4, INK, 0.4)

    remit_y = card_y + 0.88
    pen.text(bx, remit_y, "Make checks payable to and mail to:", 7, color=MUTED)
    remit = practice.remit_to or (practice.name, *practice.address_lines)
    for number, line in enumerate(remit[:4]):
        pen.text(
            bx, remit_y + 0.14 + number * 0.13, line, 8.5, BOLD if number == 0 else FONT, width=bw
        )

    pen.c.setDash(4, 3)
    pen.line(0.35, FOLD_Y, PAGE_WIDTH / inch - 0.35, FOLD_Y, MUTED, 0.6)
    pen.c.setDash()
    pen.text(
        PAGE_WIDTH / inch / 2,
        FOLD_Y + 0.14,
        "Please detach and return the top portion with your payment. "
        "Keep the lower portion for your records.",
        7,
        color=MUTED,
        align="center",
    )


def _due_text(data: StatementData) -> str:
    due = data.amount_due_cents
    if due < 0:
        return f"{money(-due)} credit"
    return money(due)


def _body_header(pen: _Pen, data: StatementData) -> None:
    practice = data.practice
    top = FOLD_Y + 0.35
    _logo(pen, 0.5, top, 0.62, practice.initials)
    pen.text(1.25, top + 0.2, practice.name, 13, BOLD, BRAND, width=3.6)
    for number, line in enumerate((*practice.address_lines[:3], practice.phone)):
        if line:
            pen.text(1.25, top + 0.36 + number * 0.13, line, 8, color=MUTED, width=3.6)

    bx, bw = 5.0, 3.0
    pen.text(bx + bw, top + 0.08, "STATEMENT", 15, BOLD, BRAND, align="right")
    rows = (
        ("Statement date", us_date(data.statement_date)),
        ("Account number", data.account),
        ("Account holder", data.guarantor_name),
        ("Pay by", us_date(data.due_date)),
    )
    for number, (label, value) in enumerate(rows):
        y = top + 0.28 + number * 0.145
        pen.text(bx, y, label, 8, color=MUTED)
        pen.text(bx + bw, y, value, 8.5, align="right", width=1.8)
    y = top + 0.28 + 4 * 0.145 - 0.04
    pen.rect(bx, y - 0.02, bw, 0.3, fill=BRAND, stroke=None)
    pen.text(bx + 0.1, y + 0.18, "AMOUNT DUE", 9, BOLD, white)
    pen.text(bx + bw - 0.1, y + 0.19, _due_text(data), 12, BOLD, white, align="right")

    # Aging table.
    ay = 5.3
    pen.text(0.5, ay - 0.08, "Account aging", 8.5, BOLD, BRAND)
    labels = (*BUCKET_LABELS, "Amount due")
    values = (*data.aging.values(), data.amount_due_cents)
    width = 7.5 / len(labels)
    for number, (label, amount) in enumerate(zip(labels, values, strict=True)):
        x = 0.5 + number * width
        last = number == len(labels) - 1
        pen.rect(x, ay, width, 0.18, fill=SHADE, stroke=RULE)
        pen.rect(x, ay + 0.18, width, 0.22, fill=None, stroke=RULE)
        pen.text(x + width / 2, ay + 0.125, label, 7.5, BOLD, MUTED, align="center")
        pen.text(
            x + width / 2, ay + 0.335, money(amount), 9, BOLD if last else FONT, align="center"
        )
    if data.pending_insurance_cents:
        pen.text(
            8.0,
            ay - 0.08,
            f"Pending with your insurance: {money(data.pending_insurance_cents)} "
            "(not included in the amount due)",
            7.5,
            color=MUTED,
            align="right",
        )


_COLUMNS = (  # (title, x, width, align)
    ("Posted", 0.5, 0.72, "left"),
    ("Service", 1.22, 0.72, "left"),
    ("Patient", 1.94, 1.3, "left"),
    ("Description", 3.28, 2.72, "left"),
    ("Amount", 6.95, 0.9, "right"),
    ("Balance", 8.0, 0.95, "right"),
)


@dataclass(frozen=True)
class _Row:
    """One printed line of the items table; the lines of one item share its `band` (shading)."""

    cells: tuple[str, ...]
    band: int
    total: bool = False


#: Columns whose text wraps onto further lines of its item (Patient, Description) rather than
#: being cut: a long description must not lose the provider at its end.
_WRAPPING = (2, 3)
_CELL_SIZE = 8


def _wrap(cells: tuple[str, ...], band: int, total: bool = False) -> list[_Row]:
    pieces: dict[int, list[str]] = {}
    for column in _WRAPPING:
        text = printable(cells[column])
        width = (_COLUMNS[column][2] - 0.1) * inch
        face = font_for(text, BOLD if total else FONT)
        if pdfmetrics.stringWidth(text, face, _CELL_SIZE) > width:
            pieces[column] = split_words(text, face, _CELL_SIZE, width)
    if not pieces:
        return [_Row(cells, band, total)]
    height = max(len(p) for p in pieces.values())
    rows = []
    for number in range(height):
        line = [cell if number == 0 else "" for cell in cells]
        for column, parts in pieces.items():
            line[column] = parts[number] if number < len(parts) else ""
        rows.append(_Row(tuple(line), band, total))
    return rows


def _item_rows(data: StatementData) -> list[_Row]:
    forward = (
        f"Balance from statement of {us_date(data.previous_statement_date)}"
        if data.previous_statement_date
        else "Balance forward"
    )
    rows = _wrap(("", "", "", forward, "", money(data.previous_balance_cents)), 0)
    running = data.previous_balance_cents
    for band, line in enumerate(data.lines, start=1):
        running += line.amount_cents
        text = line.description + (f" \u2014 {line.provider}" if line.provider else "")
        cells = (
            us_date(line.posted),
            us_date(line.service),
            line.patient,
            text,
            money(line.amount_cents),
            money(running),
        )
        rows += _wrap(cells, band)
    rows += _wrap(("", "", "", "AMOUNT DUE", "", money(running)), len(data.lines) + 1, total=True)
    return rows


def _pages(rows: Sequence[_Row]) -> list[list[_Row]]:
    """The rows of each page; an item's lines stay on one page."""
    pages: list[list[_Row]] = [[]]
    room = FIRST_PAGE_ROWS
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and rows[end].band == rows[start].band:
            end += 1
        item = rows[start:end]
        if len(item) > room and pages[-1]:
            pages.append([])
            room = NEXT_PAGE_ROWS
        pages[-1] += item
        room -= len(item)
        start = end
    return pages


def _items(pen: _Pen, rows: Sequence[_Row], top: float, *, more: bool) -> None:
    pen.rect(0.5, top, 7.5, 0.2, fill=BRAND, stroke=None)
    for title, x, _width, align in _COLUMNS:
        pen.text(
            x + (0.06 if align == "left" else -0.06),
            top + 0.14,
            title,
            7.5,
            BOLD,
            white,
            align=align,
        )
    y = top + 0.2
    step = ROW / 72
    for number, row in enumerate(rows):
        first_of_total = row.total and (number == 0 or not rows[number - 1].total)
        if row.band % 2 == 1 and not row.total:
            pen.rect(0.5, y, 7.5, step, fill=SHADE, stroke=None)
        if first_of_total:
            pen.line(0.5, y, 8.0, y, INK, 0.8)
        for value, (_title, x, width, align) in zip(row.cells, _COLUMNS, strict=True):
            if value:
                pen.text(
                    x + (0.06 if align == "left" else -0.06),
                    y + step * 0.72,
                    value,
                    _CELL_SIZE,
                    BOLD if row.total else FONT,
                    align=align,
                    width=width - 0.1,
                )
        y += step
    pen.line(0.5, y, 8.0, y, RULE)
    if more:
        pen.text(8.0, y + 0.15, "Continued on the next page", 7.5, BOLD, MUTED, align="right")


def _message_and_pay(pen: _Pen, data: StatementData) -> None:
    practice = data.practice
    top = 8.85
    pen.rect(0.5, top, 4.45, 1.5, fill=SHADE, stroke=None)
    pen.rect(0.5, top, 0.06, 1.5, fill=ALERT if data.alert else BRAND, stroke=None)
    pen.text(
        0.7,
        top + 0.22,
        "A message from our billing office",
        8.5,
        BOLD,
        ALERT if data.alert else BRAND,
    )
    pen.wrapped(0.7, top + 0.42, data.message, 4.1, 8.5, 11, max_lines=8)

    x = 5.15
    pen.rect(x, top, 2.85, 1.5, stroke=RULE)
    if practice.pay_url:
        _qr(pen, x + 0.12, top + 0.14, 1.0, practice.pay_url)
        pen.text(x + 1.25, top + 0.24, "Pay online", 10, BOLD, BRAND)
        pen.wrapped(x + 1.25, top + 0.42, "Scan the code or visit", 1.55, 7.5, 9.5, color=MUTED)
        size = 7.5
        while size > 5 and pdfmetrics.stringWidth(practice.pay_url, BOLD, size) > 1.5 * inch:
            size -= 0.25
        pen.wrapped(x + 1.25, top + 0.58, practice.pay_url, 1.5, size, 9.5, BOLD, max_lines=3)
        pen.text(x + 1.25, top + 0.98, "Account number", 7, color=MUTED)
        pen.text(x + 1.25, top + 1.12, data.account, 9, BOLD, width=1.5)
    if practice.billing_phone:
        pen.text(
            x + 0.12, top + 1.36, f"Billing questions: {practice.billing_phone}", 7.5, width=2.6
        )


def _continuation_header(pen: _Pen, data: StatementData, page: int, pages: int) -> None:
    _logo(pen, 0.5, 0.5, 0.42, data.practice.initials)
    pen.text(1.05, 0.68, data.practice.name, 11, BOLD, BRAND, width=4)
    pen.text(1.05, 0.84, "Statement continued", 8, color=MUTED)
    pen.text(8.0, 0.62, f"Account {data.account}", 8.5, BOLD, align="right", width=3)
    pen.text(8.0, 0.77, data.guarantor_name, 8, align="right", width=3)
    pen.text(
        8.0, 0.92, f"Statement date {us_date(data.statement_date)}", 8, color=MUTED, align="right"
    )
    pen.line(0.5, 1.15, 8.0, 1.15, BRAND, 1)


def _footer(pen: _Pen, data: StatementData, page: int, pages: int) -> None:
    pen.text(
        0.5, 10.65, f"{data.practice.name} \u00b7 Account {data.account}", 7, color=MUTED, width=5
    )
    pen.text(8.0, 10.65, f"Page {page} of {pages}", 7, color=MUTED, align="right")
