"""The fonts the PDFs print patient text in, shipped inside the package.

reportlab's built-in Helvetica covers only Windows-1252: "Nguyễn", "Dvořák" or "Wałęsa" would print
with black boxes for the letters it lacks. DejaVu Sans (in `visitdesk/resources/fonts/`, with its
licence) covers Latin Extended-A, -B and Additional, so Vietnamese, Polish, Turkish and Czech
names print as written; it is embedded (subset) in every PDF that uses it.

Text also goes through `printable` first: invisible formatting and control characters (a
right-to-left override, a zero-width space) have no place on paper, print as boxes, and could
reorder what a PDF reader extracts.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from visitdesk.api.text import strip_hidden

SANS, SANS_BOLD = "VisitDeskSans", "VisitDeskSans-Bold"
_FILES = {SANS: "DejaVuSans.ttf", SANS_BOLD: "DejaVuSans-Bold.ttf"}
#: The embedded face that stands in for each built-in one.
EMBEDDED = {"Helvetica": SANS, "Helvetica-Bold": SANS_BOLD}


@lru_cache(maxsize=1)
def register() -> tuple[str, str]:
    """Register the shipped fonts with reportlab (once per process); their names."""
    folder = resources.files("visitdesk.resources").joinpath("fonts")
    for name, filename in _FILES.items():
        with resources.as_file(folder.joinpath(filename)) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    # So that <b> inside a Paragraph in SANS picks the bold face.
    addMapping(SANS, 0, 0, SANS)
    addMapping(SANS, 1, 0, SANS_BOLD)
    addMapping(SANS, 0, 1, SANS)
    addMapping(SANS, 1, 1, SANS_BOLD)
    return SANS, SANS_BOLD


def printable(text: str) -> str:
    """`text` without the characters that have no business on paper."""
    return strip_hidden(text)


def font_for(text: str, font: str) -> str:
    """`font` when it can print every letter of `text`, else the embedded face standing in for it.

    Built-in fonts stay where they suffice: they add nothing to the file and measure fastest,
    which matters for a run of ten thousand statements.
    """
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        register()
        return EMBEDDED.get(font, font)
    return font
