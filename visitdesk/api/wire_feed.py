"""Reading a page of the change feed in one pass, batches included.

A ``ledger_columns`` (or older ``ledger_lines``) item carries up to 5,000 lines. Read as a plain
:class:`ChangeItem`, its ``data`` is first built as Python dicts and lists and then validated again
as the batch it is; that was a third of a desk's work while it pulled back a practice's first
ledger. Read with :func:`read_page`, the batch is validated straight from the JSON into a
:class:`LedgerColumnsOut` (or :class:`LedgerLinesOut`), and every other item is read exactly as
before.

The page's items are told apart by their kind. A kind this version does not know (a portal
newer than the desk) cannot be told apart that way, and a batch the model refuses must be
refused by its applier with the page left unapplied: both come out of :func:`read_page` read
the plain way (:class:`ChangesPage`), so nothing changes for them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from visitdesk.api.wire import BATCH_CHANGE_KINDS, KNOWN_CHANGE_KINDS, ChangeItem, ChangesPage, Wire
from visitdesk.api.wire_billing import LedgerColumns, LedgerColumnsOut, LedgerLinesOut


class LedgerLinesItem(ChangeItem):
    """A ``ledger_lines`` item read in one pass: its JSON ``data`` is validated into
    :attr:`batch`, and ``data`` itself is left empty."""

    kind: Literal["ledger_lines"]
    op: Literal["upsert"]
    # The item's "data" goes to `batch`; `data` takes no key of the JSON (its alias is no key
    # a page has). An item read this way is for applying, not for sending on.
    data: dict[str, Any] = Field(default_factory=dict, validation_alias="data as read")
    batch: LedgerLinesOut = Field(validation_alias="data")


class LedgerColumnsItem(ChangeItem):
    """A ``ledger_columns`` item read in one pass, as :class:`LedgerLinesItem`."""

    kind: Literal["ledger_columns"]
    op: Literal["upsert"]
    data: dict[str, Any] = Field(default_factory=dict, validation_alias="data as read")
    batch: LedgerColumnsOut = Field(validation_alias="data")


def batch_of(item: ChangeItem) -> LedgerColumnsOut:
    """The batch of a ``ledger_lines`` or ``ledger_columns`` item in columns, however it was
    read (validated here if it was read the plain way; pydantic's ValidationError when it is
    not a batch)."""
    if isinstance(item, LedgerColumnsItem):
        return item.batch
    if isinstance(item, LedgerLinesItem):
        lines = item.batch
    elif item.kind == "ledger_columns":
        return LedgerColumnsOut.model_validate(item.data)
    else:
        lines = LedgerLinesOut.model_validate(item.data)
    return LedgerColumnsOut.model_construct(
        updated_at=lines.updated_at,
        ids=lines.ids,
        patient_ids=lines.patient_ids,
        guarantor_patient_ids=lines.guarantor_patient_ids,
        lines=LedgerColumns.of(lines.lines),
    )


_SINGLE_KINDS: Any = Literal.__getitem__(
    tuple(sorted(set(KNOWN_CHANGE_KINDS) - BATCH_CHANGE_KINDS))
)


class _SingleItem(ChangeItem):
    kind: _SINGLE_KINDS


class _FeedPage(Wire):
    items: list[
        Annotated[LedgerLinesItem | LedgerColumnsItem | _SingleItem, Field(discriminator="kind")]
    ]
    last_seq: int
    more: bool


_FAST = TypeAdapter(_FeedPage)
_PLAIN = TypeAdapter(ChangesPage)


def read_page(content: bytes) -> ChangesPage:
    """A page of the feed from its JSON; a batch item comes as a :class:`LedgerColumnsItem` (or
    :class:`LedgerLinesItem`).

    Raises pydantic's ValidationError when the page is not one."""
    try:
        page = _FAST.validate_json(content)
    except ValidationError:
        return _PLAIN.validate_json(content)
    return ChangesPage.model_construct(items=page.items, last_seq=page.last_seq, more=page.more)
