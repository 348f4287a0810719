"""The security code slip: one US Letter page the front desk prints and hands to the patient.

It carries the practice's name and phone, the patient's name, the code (large, monospace, in its
groups), when it expires, and numbered steps for registering a new portal account or linking a
family member with it. The PDF is built in memory; the caller decides whether it is printed or
saved. Patient text goes into reportlab Paragraphs escaped (Paragraph reads its text as markup), so
a name like "<b>x</b>" prints as typed; invisible formatting characters are left out so nothing can
reorder it, and the whole slip is set in the DejaVu Sans shipped with the package, so "Nguyễn" or
"Wałęsa" prints with every letter.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from visitdesk.reports.fonts import SANS, SANS_BOLD, printable, register

#: Colours of the slip; dark enough to survive a tired office printer.
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
BRAND = colors.HexColor("#0f4c81")
CODE_BACKGROUND = colors.HexColor("#eef4fb")

#: How the slip names the patient's relationship to the account holder in the link steps.
RELATIONSHIP_WORDS = {
    "child": "child",
    "spouse": "spouse",
    "parent": "parent",
    "dependent": "dependent",
    "other": "family member",
}

APP_NAME = "myPatientVisit"


@dataclass(frozen=True)
class CodeSlip:
    """What one slip shows. `code` is the full code, grouped ("K7QM-3XHP-TW9R")."""

    practice_name: str
    practice_phone: str
    patient_first_name: str
    patient_last_name: str
    code: str
    purpose: Literal["register", "link"]
    issued_at: datetime
    expires_at: datetime
    #: The practice's time zone: dates on the slip are the practice's dates.
    zone: tzinfo
    relationship: str = "self"
    #: Link codes only: the one account allowed to use the code, when the office chose one.
    account_login: str | None = None
    #: Where patients open the portal in a browser; the steps leave it out when empty.
    portal_address: str = ""
    #: The practice code the portal asks for beside the security code (it names the practice).
    practice_code: str = ""

    @property
    def patient_name(self) -> str:
        return f"{self.patient_first_name} {self.patient_last_name}"


def _date(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A, %B} {local.day}, {local.year}"


def _time(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%I:%M %p}".lstrip("0")


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=SANS, fontSize=11.5, leading=15.5, textColor=INK)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=9.5, leading=13, textColor=MUTED),
        "step": ParagraphStyle("step", parent=body, leftIndent=26, firstLineIndent=0),
        "center": ParagraphStyle("center", parent=body, alignment=TA_CENTER),
        "note": ParagraphStyle(
            "note", parent=body, fontSize=9.5, leading=13, textColor=MUTED, alignment=TA_CENTER
        ),
    }


def practice_step(slip: CodeSlip) -> str:
    if not slip.practice_code:
        return ""
    return f"When asked for the practice code, enter <b>{escape(slip.practice_code)}</b>. "


def steps(slip: CodeSlip) -> list[str]:
    """The numbered instructions, as Paragraph markup (patient text already escaped)."""
    where = (
        f"download the <b>{APP_NAME}</b> app from the App Store or Google Play, or open "
        f"<b>{escape(slip.portal_address)}</b> in a web browser"
        if slip.portal_address
        else f"download the <b>{APP_NAME}</b> app from the App Store or Google Play"
    )
    name = escape(slip.patient_name)
    practice = escape(slip.practice_name)
    if slip.purpose == "register":
        return [
            f"On your phone or computer, {where}.",
            "Choose <b>Sign up with a security code</b>.",
            "Choose a username and a password.",
            "Enter your first and last name <b>exactly as they appear on your insurance card</b>: "
            f"<b>{name}</b>.",
            practice_step(slip)
            + "Enter the security code printed above. Capital or small letters both work, and you "
            "can leave out the dashes.",
            "Add your email address so you can reset your password, or choose to continue "
            "without one.",
            "Choose three security questions and answer them. Keep your answers somewhere safe: "
            "they cannot be changed later.",
            f"You are signed in, and your records at {practice} are in your account.",
        ]
    relation = RELATIONSHIP_WORDS.get(slip.relationship, "family member")
    account = (
        f" This code works only for the account <b>{escape(slip.account_login)}</b>."
        if slip.account_login
        else ""
    )
    signed_in = (
        f"Sign in to your patient portal account in the <b>{APP_NAME}</b> app, or at "
        f"<b>{escape(slip.portal_address)}</b> in a web browser."
        if slip.portal_address
        else f"Sign in to your patient portal account in the <b>{APP_NAME}</b> app."
    )
    return [
        signed_in,
        "Open <b>myAccount</b> and choose <b>Link family member</b>.",
        f"{practice_step(slip)}Enter the security code printed above.{account}",
        f"<b>{name}</b> is added to your account as your {relation}. You can now see their "
        "appointments and balance and message the office for them.",
    ]


def render_code_slip(slip: CodeSlip) -> bytes:
    """The slip as a one-page PDF (US Letter)."""
    register()
    slip = dataclasses.replace(
        slip,
        practice_name=printable(slip.practice_name),
        practice_phone=printable(slip.practice_phone),
        patient_first_name=printable(slip.patient_first_name),
        patient_last_name=printable(slip.patient_last_name),
        account_login=None if slip.account_login is None else printable(slip.account_login),
        portal_address=printable(slip.portal_address),
        practice_code=printable(slip.practice_code),
    )
    buffer = io.BytesIO()
    # The title says what the document is; the patient's name and the code stay out of metadata.
    canvas = Canvas(buffer, pagesize=LETTER, pageCompression=1)
    canvas.setTitle("Patient portal security code")
    canvas.setAuthor(slip.practice_name)
    canvas.setCreator("VisitDesk")
    _draw(canvas, slip)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _paragraph(
    canvas: Canvas, markup: str, style: ParagraphStyle, x: float, top: float, width: float
) -> float:
    """Draw `markup` with its top at `top`; returns the y below it."""
    paragraph = Paragraph(markup, style)
    _, height = paragraph.wrapOn(canvas, width, 10 * inch)
    paragraph.drawOn(canvas, x, top - height)
    return top - height


def _draw(canvas: Canvas, slip: CodeSlip) -> None:
    styles = _styles()
    page_width, page_height = LETTER
    margin = 0.75 * inch
    width = page_width - 2 * margin
    left = margin

    # Header band: the practice, so the patient knows whom to call.
    band = 0.95 * inch
    canvas.setFillColor(BRAND)
    canvas.rect(0, page_height - band, page_width, band, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont(SANS_BOLD, 18)
    canvas.drawString(left, page_height - 0.52 * inch, _fit(slip.practice_name, 18, width * 0.62))
    canvas.setFont(SANS, 11)
    if slip.practice_phone:
        canvas.drawString(left, page_height - 0.76 * inch, slip.practice_phone)
    canvas.setFont(SANS_BOLD, 11)
    canvas.drawRightString(page_width - margin, page_height - 0.52 * inch, "Patient Portal")
    canvas.setFont(SANS, 10)
    canvas.drawRightString(
        page_width - margin,
        page_height - 0.76 * inch,
        "Security code slip",
    )

    y = page_height - band - 0.55 * inch
    title = (
        "Your patient portal security code"
        if slip.purpose == "register"
        else "Security code to link a family member"
    )
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 20)
    canvas.drawString(left, y, title)
    y -= 0.38 * inch
    for_whom = (
        f"For <b>{escape(slip.patient_name)}</b>"
        if slip.purpose == "register"
        else f"To link <b>{escape(slip.patient_name)}</b> to a portal account"
    )
    y = _paragraph(canvas, for_whom, styles["body"], left, y + 12, width)
    y = _paragraph(
        canvas,
        f"Issued {escape(_date(slip.issued_at, slip.zone))}",
        styles["small"],
        left,
        y - 2,
        width,
    )

    # The code: large, monospace, in its groups, on a light panel.
    box_height = 1.55 * inch
    y -= 0.25 * inch
    canvas.setFillColor(CODE_BACKGROUND)
    canvas.setStrokeColor(BRAND)
    canvas.setLineWidth(1.5)
    canvas.roundRect(left, y - box_height, width, box_height, 10, stroke=1, fill=1)
    canvas.setFillColor(MUTED)
    canvas.setFont(SANS_BOLD, 9.5)
    canvas.drawCentredString(page_width / 2, y - 0.3 * inch, "SECURITY CODE")
    canvas.setFillColor(colors.black)
    canvas.setFont("Courier-Bold", 34)
    canvas.drawCentredString(page_width / 2, y - 0.84 * inch, slip.code, charSpace=3)
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 11.5)
    canvas.drawCentredString(
        page_width / 2,
        y - 1.22 * inch,
        f"Use it by {_date(slip.expires_at, slip.zone)}, {_time(slip.expires_at, slip.zone)}",
    )
    y -= box_height + 0.14 * inch
    y = _paragraph(
        canvas,
        "The code uses only capital letters and digits that cannot be confused: there is no "
        "zero or letter O, and no one, letter I or letter L. It works once.",
        styles["note"],
        left,
        y,
        width,
    )

    # The steps.
    y -= 0.32 * inch
    canvas.setFillColor(BRAND)
    canvas.setFont(SANS_BOLD, 13)
    heading = (
        "How to create your portal account"
        if slip.purpose == "register"
        else "How to link this patient to your account"
    )
    canvas.drawString(left, y, heading)
    y -= 0.14 * inch
    for number, markup in enumerate(steps(slip), start=1):
        top = y - 6
        bottom = _paragraph(canvas, markup, styles["step"], left, top, width)
        canvas.setFillColor(BRAND)
        canvas.circle(left + 9, top - 10.5, 9, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(SANS_BOLD, 10)
        canvas.drawCentredString(left + 9, top - 14, str(number))
        y = bottom - 4

    # Footer: keeping the code safe, and whom to call.
    footer_top = 1.55 * inch
    canvas.setStrokeColor(colors.HexColor("#d9e2ec"))
    canvas.setLineWidth(0.8)
    canvas.line(left, footer_top, page_width - margin, footer_top)
    phone = f" at {escape(slip.practice_phone)}" if slip.practice_phone else ""
    _paragraph(
        canvas,
        f"<b>Keep this code private.</b> It belongs to {escape(slip.patient_name)} and can be used "
        "only once. If you lose it or it expires before you use it, call "
        f"{escape(slip.practice_name)}{phone} and ask the front desk for a new one; the old "
        "code then stops working.",
        styles["small"],
        left,
        footer_top - 10,
        width,
    )


def _fit(text: str, size: float, width: float, font: str = SANS_BOLD) -> str:
    """`text` shortened with an ellipsis so that it fits `width` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text + "\u2026"
