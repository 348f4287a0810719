"""The security code slip PDF (reportlab), read back with pypdf."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from visitdesk.reports.code_slip import CodeSlip, render_code_slip

ISSUED = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")


def slip(**changes) -> CodeSlip:
    values = {
        "practice_name": "Riverside Family Medicine",
        "practice_phone": "(413) 555-0100",
        "patient_first_name": "Ann",
        "patient_last_name": "Lee",
        "code": "K7QM-3XHP-TW9R",
        "purpose": "register",
        "issued_at": ISSUED,
        "expires_at": ISSUED + timedelta(days=14),
        "zone": ZONE,
        "portal_address": "https://portal.example.org",
    }
    values.update(changes)
    return CodeSlip(**values)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_register_slip_has_code_patient_expiry_and_steps() -> None:
    text = text_of(render_code_slip(slip()))
    assert "K7QM-3XHP-TW9R" in text
    assert "Ann Lee" in text
    assert "Riverside Family Medicine" in text and "(413) 555-0100" in text
    # Expiry is the practice's local date: 15:30 UTC on March 16 is 11:30 AM in New York (EDT).
    assert "Monday, March 16, 2026, 11:30 AM" in text
    flat = " ".join(text.split())  # where lines break depends on the font's widths
    for step in ("Sign up with a security code", "insurance card", "three security questions"):
        assert step in flat
    assert "https://portal.example.org" in text


def test_link_slip_names_the_account_and_relationship() -> None:
    pdf = render_code_slip(
        slip(purpose="link", relationship="child", account_login="mom@example.org")
    )
    text = text_of(pdf)
    assert "Link family member" in text
    assert "mom@example.org" in text
    assert "as your child" in text
    assert "Sign up with a security code" not in text


def test_hostile_names_print_literally() -> None:
    text = text_of(
        render_code_slip(slip(patient_first_name="<b>x</b>", patient_last_name="O'Brien & <i>"))
    )
    assert "<b>x</b> O'Brien & <i>" in text


def test_metadata_holds_neither_code_nor_name() -> None:
    pdf = render_code_slip(slip())
    info = PdfReader(io.BytesIO(pdf)).metadata
    values = " ".join(str(v) for v in (info or {}).values())
    assert "K7QM" not in values and "Lee" not in values


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm not installed")
def test_slip_renders_to_an_image(tmp_path) -> None:
    path = tmp_path / "slip.pdf"
    path.write_bytes(render_code_slip(slip()))
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 5_000


def test_both_slips_give_the_practice_code_the_portal_asks_for() -> None:
    for purpose, relationship in (("register", "self"), ("link", "child")):
        text = " ".join(
            text_of(
                render_code_slip(
                    slip(purpose=purpose, relationship=relationship, practice_code="riverside")
                )
            ).split()
        )
        assert "practice code, enter riverside" in text
