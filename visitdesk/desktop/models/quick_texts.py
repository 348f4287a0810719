"""Quick-text templates the composer inserts, with ``{placeholders}`` filled for the open thread.

The templates are the practice's: the portal keeps them and sends every desk the set a manager
saved (a ``quick_texts`` feed item), which this store holds for offline use. A manager's save is
used here at once and queued in the outbox. Until a manager saves a set, the desk offers
`DEFAULT_QUICK_TEXTS`.

One template at most is marked `on_acknowledge`: the check-in board sends it, filled, in the
arrival chat when the desk acknowledges an arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import Boolean, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.api.commands import WRITE_QUICK_TEXTS
from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_messages import (
    DEFAULT_ACKNOWLEDGEMENT,
    DEFAULT_QUICK_TEXTS,
    MAX_QUICK_TEXTS,
    QuickTextSet,
)
from visitdesk.api.wire_messages import QuickText as WireQuickText
from visitdesk.desktop.models.messages import Enqueue
from visitdesk.desktop.models.schema import Base
from visitdesk.sync.store import OutboxItem

if TYPE_CHECKING:
    from visitdesk.desktop.models.store import LocalStore


class QuickText(Base):
    """A template the composer inserts; ``{placeholders}`` are filled for the open thread."""

    __tablename__ = "quick_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    #: Sent in the arrival chat when the desk acknowledges an arrival (one template at most).
    on_acknowledge: Mapped[bool] = mapped_column(Boolean, default=False)


KIND = "quick_texts"


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


def _replace(session: Session, texts: QuickTextSet) -> None:
    session.execute(delete(QuickText))
    session.add_all(
        QuickText(title=t.title, body=t.body, on_acknowledge=t.on_acknowledge) for t in texts.texts
    )


def validated(texts: Sequence[tuple[str, str]], on_acknowledge: int | None = None) -> QuickTextSet:
    """The set as the portal will take it (`on_acknowledge`: the index of the text sent when an
    arrival is acknowledged); ValueError saying in words what it would refuse."""
    try:
        return QuickTextSet(
            texts=[
                WireQuickText(title=t, body=b, on_acknowledge=n == on_acknowledge)
                for n, (t, b) in enumerate(texts)
            ]
        )
    except ValidationError as exc:
        raise ValueError(_in_words(exc)) from None


def _in_words(exc: ValidationError) -> str:
    error = exc.errors()[0]
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_too_long":
        return f"A quick text is longer than {ctx.get('max_length'):,} characters."
    if kind == "too_long":
        return f"A practice keeps at most {MAX_QUICK_TEXTS} quick texts."
    return "Every quick text needs a title and a text."


def save(store: LocalStore, texts: QuickTextSet) -> OutboxItem:
    with store.write() as uow:
        return record_save(uow.session, uow.enqueue, texts)


def record_save(session: Session, enqueue: Enqueue, texts: QuickTextSet) -> OutboxItem:
    """Use ``texts`` here at once and send them to the portal, which gives them to every desk."""
    _replace(session, texts)
    return enqueue(WRITE_QUICK_TEXTS, {}, texts, "Save the practice's quick texts")


def apply_quick_texts(session: Session, items: list[ChangeItem]) -> None:
    """The newest set in the page wins (each item holds the whole set)."""
    upserts = [item for item in items if item.op == "upsert"]
    if upserts:
        _replace(session, QuickTextSet.model_validate(upserts[-1].data))


def fill(body: str, values: dict[str, str]) -> str:
    """Fill a template's placeholders; an unknown one stays as typed rather than failing."""
    out = body
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return out
