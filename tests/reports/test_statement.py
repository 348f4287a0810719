"""The statement PDF: amounts, aging, the envelope window, the stub, continuation pages."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pytest

from visitdesk.api.wire_billing import AgingBuckets
from visitdesk.reports.pdf_concat import PdfConcatenator
from visitdesk.reports.statement import (
    ADDRESS_WINDOW,
    FIRST_PAGE_ROWS,
    PAGE_HEIGHT,
    RETURN_WINDOW,
    PracticeHeader,
    StatementData,
    StatementLine,
    money,
    page_count,
    render_statement,
)

TODAY = date(2026, 11, 30)
PRACTICE = PracticeHeader(
    "Maple Grove Family Medicine",
    ("120 Main Street, Suite 200", "Northampton, MA 01060"),
    "(413) 555-0142",
    "(413) 555-0199",
    "https://portal.example.org/pay",
    ("Maple Grove Family Medicine", "Patient Billing Office", "PO Box 4410", "Springfield, MA"),
)
HOSTILE = "<b>Zoë</b> & <i>O'Brien</i>"


def statement(lines: int = 4, previous: int = 5000, patient: str = HOSTILE) -> StatementData:
    items = []
    for n in range(lines):
        amount = (18500, -2500, 4500, -12000)[n % 4]
        items.append(
            StatementLine(
                TODAY - timedelta(days=150 - n),
                TODAY - timedelta(days=152 - n),
                patient,
                f"Office visit {n}",
                "Dr. Anita Rao",
                amount,
            )
        )
    pairs = [(TODAY - timedelta(days=200), previous)] + [(i.posted, i.amount_cents) for i in items]
    return StatementData(
        practice=PRACTICE,
        account="1000042",
        guarantor_name=HOSTILE,
        address_lines=("14 Elm Street Apt 3", "Springfield, MA 01103"),
        statement_date=TODAY,
        due_date=TODAY + timedelta(days=21),
        previous_balance_cents=previous,
        previous_statement_date=TODAY - timedelta(days=190),
        lines=tuple(items),
        aging=AgingBuckets.of_lines(pairs, TODAY),
        pending_insurance_cents=12345,
        message="Please pay <b>now</b>.",
    )


def text_with_positions(page: pypdf.PageObject) -> list[tuple[str, float, float]]:
    found: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.append((text.strip(), tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return found


def test_amounts_and_aging_add_up_to_the_balance() -> None:
    data = statement()
    reader = pypdf.PdfReader(io.BytesIO(render_statement(data)))
    text = reader.pages[0].extract_text()
    due = data.previous_balance_cents + sum(line.amount_cents for line in data.lines)
    assert due == data.aging.total == data.amount_due_cents
    assert text.count(money(due)) >= 4  # stub, header box, aging table, items total
    for value in data.aging.values():
        assert money(value) in text
    assert "Pending with your insurance: $123.45" in text
    assert "AMOUNT DUE" in text
    assert "Page 1 of 1" in text


def test_guarantor_address_and_return_address_sit_in_the_envelope_windows() -> None:
    reader = pypdf.PdfReader(io.BytesIO(render_statement(statement())))
    positions = text_with_positions(reader.pages[0])

    def inside(window: tuple[float, float, float, float], needle: str) -> None:
        x, y, w, h = window
        hits = [(px, py) for text, px, py in positions if needle in text]
        assert hits, needle
        px, py = hits[0]
        top = PAGE_HEIGHT - py  # from the top of the page, in points
        assert x * 72 <= px <= (x + w) * 72, (needle, px)
        assert y * 72 <= top <= (y + h) * 72, (needle, top)

    inside(ADDRESS_WINDOW, HOSTILE.upper())
    inside(ADDRESS_WINDOW, "14 ELM STREET APT 3")
    inside(ADDRESS_WINDOW, "SPRINGFIELD, MA 01103")
    inside(RETURN_WINDOW, "Maple Grove")


def test_the_remittance_stub_is_on_the_first_page() -> None:
    text = pypdf.PdfReader(io.BytesIO(render_statement(statement()))).pages[0].extract_text()
    for label in ("REMITTANCE", "Account number", "Amount enclosed", "Card number", "Expires"):
        assert label in text
    assert "Please detach and return the top portion" in text
    assert "PO Box 4410" in text  # remit-to


def test_hostile_text_prints_as_typed() -> None:
    text = pypdf.PdfReader(io.BytesIO(render_statement(statement()))).pages[0].extract_text()
    assert "<b>Zoë</b>" in text
    assert "Please pay <b>now</b>." in text


def test_long_ledgers_continue_on_further_pages() -> None:
    data = statement(lines=100, patient="Zoë O'Brien")
    reader = pypdf.PdfReader(io.BytesIO(render_statement(data)))
    assert len(reader.pages) == page_count(data) == 3
    first, second, last = (page.extract_text() for page in reader.pages)
    assert "Continued on the next page" in first
    assert "Statement continued" in second and "Page 2 of 3" in second
    assert "Amount enclosed" in first and "Amount enclosed" not in second
    assert f"AMOUNT DUE {money(data.amount_due_cents)}" in last.replace("\n", " ")
    assert "Continued on the next page" not in last
    rows = sum(text.count("Office visit") for text in (first, second, last))
    assert rows == 100
    assert first.count("Office visit") == FIRST_PAGE_ROWS - 1


def test_a_statement_that_does_not_add_up_is_refused() -> None:
    data = statement()
    broken = StatementData(**{**data.__dict__, "previous_balance_cents": 1})
    with pytest.raises(ValueError, match="does not add up"):
        render_statement(broken)


def test_same_data_gives_the_same_bytes() -> None:
    assert render_statement(statement()) == render_statement(statement())


def test_concatenated_runs_keep_every_page_in_order() -> None:
    out = io.BytesIO()
    combined = PdfConcatenator(out, "run")
    parts = [statement(lines=n, patient="Zoë O'Brien") for n in (2, 60, 3)]
    for data in parts:
        combined.add(render_statement(data))
    combined.close()
    reader = pypdf.PdfReader(io.BytesIO(out.getvalue()), strict=True)
    assert len(reader.pages) == sum(page_count(d) for d in parts) == 4
    assert "Page 2 of 2" in reader.pages[2].extract_text()
    assert "Page 1 of 1" in reader.pages[3].extract_text()


def test_aging_applies_credits_to_the_oldest_charges() -> None:
    aging = AgingBuckets.of_lines(
        [
            (TODAY - timedelta(days=130), 10000),
            (TODAY - timedelta(days=45), 5000),
            (TODAY - timedelta(days=5), 2000),
            (TODAY - timedelta(days=1), -12000),
        ],
        TODAY,
    )
    assert aging.values() == (2000, 3000, 0, 0, 0)
    credit = AgingBuckets.of_lines([(TODAY, 1000), (TODAY, -3000)], TODAY)
    assert credit.values() == (-2000, 0, 0, 0, 0) and credit.total == -2000
