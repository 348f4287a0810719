"""Quick-text templates the composer inserts, with ``{placeholders}`` filled for the open thread.

The practice's templates are kept in this store; only a manager's template editor writes them
(the ops check the role). Until a manager saves a set, the desk offers `DEFAULT_QUICK_TEXTS`.

One template at most is marked `on_acknowledge`: the check-in board sends it, filled, in the
arrival chat when the desk acknowledges an arrival.
"""

from __future__ import annotations

import string

from sqlalchemy import Boolean, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.desktop.models.schema import Base


class QuickText(Base):
    """A template the composer inserts; ``{placeholders}`` are filled for the open thread."""

    __tablename__ = "quick_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    #: Sent in the arrival chat when the desk acknowledges an arrival (one template at most).
    on_acknowledge: Mapped[bool] = mapped_column(Boolean, default=False)


DEFAULT_QUICK_TEXTS = (
    (
        "Thanks, we're on it",
        "Hi {patient_first_name}, thank you for your message. We are looking into it and will reply soon.",
    ),
    (
        "Please call us",
        "Hi {patient_first_name}, please call us at {practice_phone} so we can help you with this.",
    ),
    (
        "Arrival: have a seat",
        "Hi {patient_first_name}, we know you are here. Please take a seat; we will call you "
        "shortly.",
    ),
    (
        "Refill sent",
        "Hi {patient_first_name}, your refill request has been sent to the provider for review.",
    ),
)
#: Placeholders a template may use, with what each stands for.
PLACEHOLDERS = {
    "patient_first_name": "the patient's first name",
    "patient_last_name": "the patient's last name",
    "practice_name": "the practice's name",
    "practice_phone": "the practice's phone number",
    "staff_name": "your name",
}


#: The default that acknowledging an arrival sends (a title of `DEFAULT_QUICK_TEXTS`).
DEFAULT_ACKNOWLEDGEMENT = "Arrival: have a seat"


def quick_texts(session: Session) -> list[QuickText]:
    rows = list(session.scalars(select(QuickText).order_by(QuickText.id)))
    if rows:
        return rows
    return [
        QuickText(id=0, title=t, body=b, on_acknowledge=t == DEFAULT_ACKNOWLEDGEMENT)
        for t, b in DEFAULT_QUICK_TEXTS
    ]


def acknowledgement(session: Session) -> str | None:
    """The template sent when the desk acknowledges an arrival; None when a manager chose none."""
    return next((q.body for q in quick_texts(session) if q.on_acknowledge), None)


def save_quick_texts(
    session: Session, texts: list[tuple[str, str]], on_acknowledge: int | None = None
) -> None:
    """Replace the templates; `on_acknowledge` is the index of the one sent on acknowledging."""
    for title, body in texts:
        try:
            unknown = unknown_placeholders(body)
        except ValueError:
            raise ValueError(f"A brace without its pair in “{title}”: write {{name}}.") from None
        if unknown:
            raise ValueError(f"Unknown placeholder {{{unknown[0]}}} in “{title}”.")
    session.execute(delete(QuickText))
    session.add_all(
        QuickText(title=t, body=b, on_acknowledge=n == on_acknowledge)
        for n, (t, b) in enumerate(texts)
    )


def unknown_placeholders(body: str) -> list[str]:
    names = [
        name for _lit, name, _spec, _conv in string.Formatter().parse(body) if name is not None
    ]
    return [name for name in names if name not in PLACEHOLDERS]


def fill(body: str, values: dict[str, str]) -> str:
    """Fill a template's placeholders; an unknown one stays as typed rather than failing."""
    out = body
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return out
