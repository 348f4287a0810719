"""Where a statement's mailing address goes, and whether a given address fits there at all.

**The envelope.** A #10 double-window envelope is 9 1/2 x 4 1/8 in. Its windows, measured on the
face of the envelope (the common pattern billing software prints for):

- return window 3 1/4 x 7/8 in, 1/2 in from the left edge and 1/2 in from the top;
- address window 4 1/2 x 1 1/8 in, 7/8 in from the left edge and 1/2 in from the bottom.

Page 1 is letter-folded, so its top panel (3 2/3 in of an 8 1/2 in wide sheet) faces the windows.
The insert moves inside the envelope: a full inch sideways, and up and down by the envelope's inside
height (about 4 in once its seams are taken off) less the panel, a third of an inch. The address must
show through the window in every position, and USPS asks for 1/8 in of clear space between the
address and each edge of the window. So, in inches from the page's top-left:

- the address window on the page runs from x = 7/8 (insert pushed right, window's left edge) to
  x = 4 3/8 (insert pushed left: 4 1/2 + 7/8 - 1) and from y = 2 1/2 (insert at the top:
  4 1/8 - 1/2 - 1 1/8) to y = 3 5/16 (insert at the bottom: 3 5/8 - 1/3, rounded down);
- the address block sits 1/8 in inside that: x 1 to 4 1/4, y 2 5/8 to 3 3/16, 3 1/4 by 9/16 in.

**Fitting an address.** The name and address lines print in capitals (what USPS scanners read
best) at 9.5 pt; a line wider than the block wraps at spaces (a single word wider than the block
breaks where it must), and if the lines then do not fit the block's height the type steps down to
8 pt, the smallest USPS reads reliably. An address that does not fit even then is never cut: the
statement prints it in full, over the edge of the window, and the desk flags the patient at import
and in the run's preview so someone fixes the record first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics

from visitdesk.reports.fonts import font_for, printable

ENVELOPE = (9.5, 4.125)
#: Windows on the face of the envelope: (left, top, width, height) in inches.
ENVELOPE_RETURN_WINDOW = (0.5, 0.5, 3.25, 0.875)
ENVELOPE_ADDRESS_WINDOW = (0.875, ENVELOPE[1] - 0.5 - 1.125, 4.5, 1.125)
PANEL = (8.5, 11 / 3)
#: How far the folded insert can move inside the envelope (sideways, up and down).
PLAY = (ENVELOPE[0] - PANEL[0], 4.0 - PANEL[1])
CLEARANCE = 0.125


def visible_region(window: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The part of the page that shows through `window` wherever the insert sits."""
    left, top, width, height = window
    play_x, play_y = PLAY
    return (left, top, width - play_x, height - play_y)


#: (x, y, width, height) on the page in inches from its top-left: always behind the window.
RETURN_WINDOW = visible_region(ENVELOPE_RETURN_WINDOW)
ADDRESS_WINDOW = visible_region(ENVELOPE_ADDRESS_WINDOW)
#: Where the address is printed: the window less the clearance on every side.
ADDRESS_BLOCK = (
    ADDRESS_WINDOW[0] + CLEARANCE,
    ADDRESS_WINDOW[1] + CLEARANCE,
    ADDRESS_WINDOW[2] - 2 * CLEARANCE,
    ADDRESS_WINDOW[3] - 2 * CLEARANCE,
)
SIZES = (9.5, 9.0, 8.5, 8.0)
FONT, BOLD = "Helvetica", "Helvetica-Bold"


@dataclass(frozen=True)
class AddressLayout:
    """The lines as they print, their size and leading (points), and whether they fit the block."""

    lines: tuple[tuple[str, str], ...]  # (text, font)
    size: float
    leading: float
    fits: bool


def split_words(text: str, font: str, size: float, width: float) -> list[str]:
    """`text` in lines no wider than `width` points: at spaces, and inside a word only if it must."""
    lines: list[str] = []
    for line in simpleSplit(text, font, size, width) or [""]:
        while pdfmetrics.stringWidth(line, font, size) > width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and pdfmetrics.stringWidth(line[:cut], font, size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


def layout(name: str, address_lines: Sequence[str]) -> AddressLayout:
    """How `name` and `address_lines` print in the address block."""
    width = ADDRESS_BLOCK[2] * 72
    height = ADDRESS_BLOCK[3] * 72
    given = [printable(line).strip().upper() for line in (name, *address_lines)]
    given = [line for line in given if line] or [""]
    result: AddressLayout | None = None
    for size in SIZES:
        leading = size * 1.12
        lines: list[tuple[str, str]] = []
        for number, line in enumerate(given):
            font = font_for(line, BOLD if number == 0 else FONT)
            lines += [(part, font) for part in split_words(line, font, size, width)]
        # The first line's capitals and the last line's descenders must both be inside.
        needed = size * 0.75 + (len(lines) - 1) * leading + size * 0.25
        result = AddressLayout(tuple(lines), size, leading, needed <= height)
        if result.fits:
            return result
    assert result is not None
    return result


#: Capitals of the widest letter at the smallest size fit this many to a line of the block, so a
#: shorter line never needs measuring (most addresses of a large run never do).
_SAFE_LINE = 30


def address_fits(name: str, address_lines: Sequence[str]) -> bool:
    """Whether the name and address print inside the block at the smallest allowed size or larger."""
    lines = [line for line in (name, *address_lines) if line.strip()]
    if len(lines) <= 4 and all(len(line) <= _SAFE_LINE for line in lines):
        return True
    return layout(name, address_lines).fits


def mailing_lines(
    address_line1: str, address_line2: str, city: str, state: str, postal_code: str
) -> tuple[str, ...]:
    """A patient record's address as the lines under the name: street, more street, city line."""
    city_line = ", ".join(p for p in (city, f"{state} {postal_code}".strip()) if p)
    return tuple(line for line in (address_line1, address_line2, city_line) if line.strip())


def patient_address_fits(patient: Any) -> bool:
    """`address_fits` for anything with a patient record's name and address attributes."""
    return address_fits(
        f"{patient.first_name} {patient.last_name}",
        mailing_lines(
            patient.address_line1 or "",
            patient.address_line2 or "",
            patient.city or "",
            patient.state or "",
            patient.postal_code or "",
        ),
    )
