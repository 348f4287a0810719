"""Hostile and international names on paper: nothing reorders, nothing is cut, every letter prints.

The statement and the code slip are rendered for names with bidi overrides, 100-character names and
addresses, and Vietnamese, Polish, Turkish and Czech letters; pypdf reads the text back, and every
character drawn is checked against the font that drew it (a letter missing from a font prints as
a box, though a PDF reader may still extract it).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pypdf
import pytest
from reportlab.pdfbase import pdfmetrics

from tests.reports.test_code_slip import slip
from tests.reports.test_statement import PRACTICE, TODAY
from visitdesk.api.text import hidden_characters, strip_hidden
from visitdesk.api.wire_billing import AgingBuckets
from visitdesk.reports.address import ADDRESS_BLOCK, address_fits, layout
from visitdesk.reports.code_slip import render_code_slip
from visitdesk.reports.fonts import SANS, SANS_BOLD, register
from visitdesk.reports.statement import (
    PAGE_HEIGHT,
    StatementData,
    StatementLine,
    render_statement,
)

INTERNATIONAL = [
    ("Nguyễn", "Thị Phượng"),
    ("Wałęsa", "Łucja Żółć"),
    ("Çağlar", "Şükrü İğdır"),  # noqa: RUF001 (the dotless i is the point)
    ("Dvořák", "Jiří Čapek"),
]
OVERRIDE = ("Eve\u202e", "Lee\u200b")  # a right-to-left override and a zero-width space
LONG_NAME = ("Abernathy-Montgomery-" * 5)[:100]
LONG_ADDRESS = ("1200 North Brookside Meadows Parkway Building " * 3)[:100]


def statement_for(name: str, address: tuple[str, ...], description: str) -> StatementData:
    line = StatementLine(
        TODAY - timedelta(days=20), None, name, description, "Dr. Ngô Bảo Châu", 4200
    )
    return StatementData(
        practice=PRACTICE,
        account="1000042",
        guarantor_name=name,
        address_lines=address,
        statement_date=TODAY,
        due_date=TODAY + timedelta(days=21),
        previous_balance_cents=0,
        previous_statement_date=None,
        lines=(line,),
        aging=AgingBuckets.of_lines([(line.posted, line.amount_cents)], TODAY),
    )


def drawn_text(pdf: bytes) -> list[tuple[str, str, float, float]]:
    """(text, font name, x, y from the top in points) of every piece of text on every page."""
    found: list[tuple[str, str, float, float]] = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:

        def visit(text, cm, tm, font, size):
            if text.strip():
                name = str(font["/BaseFont"]) if font else ""
                x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
                found.append((text, name, x, PAGE_HEIGHT - y))

        page.extract_text(visitor_text=visit)
    return found


def assert_every_letter_has_a_glyph(pieces: list[tuple[str, str, float, float]]) -> None:
    register()
    # Embedded subsets are named "/XXXXXX+" and the font's own PostScript name.
    embedded = {
        "DejaVuSans": pdfmetrics.getFont(SANS).face.charToGlyph,
        "DejaVuSans-Bold": pdfmetrics.getFont(SANS_BOLD).face.charToGlyph,
    }
    for text, font, _x, _y in pieces:
        assert "\ufffd" not in text and "\u25a0" not in text, text
        assert hidden_characters(text.replace("\n", "")) == [], text
        face = next((f for f in embedded if font.split("+")[-1] == f), None)
        if face is None:
            assert font.startswith("/Helvetica") or font.startswith("/Courier"), font
            text.encode("cp1252")  # what the built-in fonts can print
        else:
            missing = [c for c in text if c.strip() and ord(c) not in embedded[face]]
            assert missing == [], (text, font)


@pytest.mark.parametrize("last, first", [*INTERNATIONAL, OVERRIDE, (LONG_NAME, LONG_NAME)])
def test_a_statement_prints_every_letter_and_the_whole_address(last: str, first: str) -> None:
    name = f"{first} {last}"
    address = (LONG_ADDRESS, f"Łódź Ünit {last}", "Springfield, MA 01103")
    description = "Office visit, established patient, extended " * 3
    pdf = render_statement(statement_for(name, address, description))
    pieces = drawn_text(pdf)
    assert_every_letter_has_a_glyph(pieces)
    text = " ".join(t for t, *_ in pieces)
    flat = " ".join(text.split())
    # The provider at the end of a long description is printed, not cut off.
    assert "Dr. Ngô Bảo Châu" in flat
    # The whole name and address, in capitals, in the address block: nothing cut.
    x, y, w, h = (v * 72 for v in ADDRESS_BLOCK)
    block = layout(name, address)
    # Left of the remittance stub, from the block down: the address, however long it ran.
    in_block = [t for t, _f, px, py in pieces if x - 0.5 <= px <= x + w and y <= py <= 4.5 * 72]
    joined = "".join(in_block).replace(" ", "").replace("\n", "")
    assert "\u2026" not in joined
    for line in (name, *address):
        assert strip_hidden(line).upper().replace(" ", "") in joined, line
    if block.fits:
        printed = {line for line, _font in block.lines}
        ends = [py for t, _f, _px, py in pieces if t.strip() in printed]
        assert ends and max(ends) <= y + h


def test_an_override_in_a_name_cannot_reverse_the_rest_of_a_line() -> None:
    pdf = render_statement(statement_for("Eve\u202e Lee", ("12 Main St", "Born 1980"), "Visit"))
    text = " ".join(t for t, *_ in drawn_text(pdf))
    assert "\u202e" not in text
    assert "EVE LEE" in text


@pytest.mark.parametrize("last, first", [*INTERNATIONAL, OVERRIDE, (LONG_NAME, LONG_NAME)])
def test_the_code_slip_prints_every_letter_of_the_name(last: str, first: str) -> None:
    pdf = render_code_slip(slip(patient_first_name=first, patient_last_name=last))
    pieces = drawn_text(pdf)
    assert_every_letter_has_a_glyph(pieces)
    flat = "".join(t for t, *_ in pieces).replace("\n", "").replace(" ", "")
    clean = f"{first}{last}".replace("\u202e", "").replace("\u200b", "")
    assert clean.replace(" ", "") in flat


def test_an_address_too_long_for_the_window_is_flagged_not_cut() -> None:
    assert address_fits("Ann Lee", ("14 Elm Street Apt 3", "Springfield, MA 01103"))
    huge = (LONG_ADDRESS, LONG_ADDRESS, "Springfield, MA 01103")
    assert not address_fits(LONG_NAME, huge)
    pdf = render_statement(statement_for(LONG_NAME, huge, "Visit"))
    flat = "".join(t for t, *_ in drawn_text(pdf)).replace(" ", "").replace("\n", "")
    assert (LONG_ADDRESS.upper().replace(" ", "")) in flat


def test_the_address_block_is_inside_the_envelope_window_wherever_the_insert_sits() -> None:
    from visitdesk.reports import address

    env_left, env_top, env_w, env_h = address.ENVELOPE_ADDRESS_WINDOW
    play_x, play_y = address.PLAY
    bx, by, bw, bh = address.ADDRESS_BLOCK
    for dx in (0.0, play_x / 2, play_x):
        for dy in (0.0, play_y / 2, play_y):
            # The page's point (x, y) sits at (x + dx, y + dy) on the envelope.
            assert env_left + address.CLEARANCE <= bx + dx
            assert bx + bw + dx <= env_left + env_w - address.CLEARANCE + 1e-9
            assert env_top + address.CLEARANCE <= by + dy + 1e-9
            assert by + bh + dy <= env_top + env_h - address.CLEARANCE + 1e-9
    # The window is on the folded top panel, below the return window.
    assert by + bh <= 11 / 3
