"""Reconciling the desk's optimistic changes with the portal's change feed.

A staff action shows on this workstation at once (the row is changed locally) and goes to the
portal through the outbox. While its outbox item is in flight, the feed may deliver the same record
(another workstation changed it, or the desk's own change came back): writing that over the row
would flip the board back and forth, so the feed item is *held* here instead, the newest per record.

When the last in-flight item for a record settles (sent, replayed, refused, discarded), the row is
rewritten with what the portal holds: the newest of the held feed item and the command's answer
(an answer can be a replay of an old first answer, so it only wins when it is newer by the kind's
own version). The desk's view of the record before its change is held too, so a refused change
with no feed item in between falls back to what the portal had. From then on the feed applies to
the row as to any other, so whatever the feed says later wins over what the desk assumed.

The kinds that take part are listed in `OPTIMISTIC` (check-ins, registrations and myInfo
changes today); messages and links join by naming their staff commands and how to order two
snapshots.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.api.commands import (
    CHECK_IN_AT_DESK,
    DECIDE_DEMOGRAPHIC_CHANGE,
    MARK_NO_SHOW,
    MATCH_REGISTRATION,
    REJECT_REGISTRATION,
    SET_CHECKIN_STATUS,
)
from visitdesk.api.wire import ChangeItem
from visitdesk.desktop.models import feed, myinfo, registrations
from visitdesk.desktop.models.schema import Base, OutboxEntry

log = logging.getLogger(__name__)


class HeldFeedItem(Base):
    """The portal's latest known state of a record that has a change of this desk in flight."""

    __tablename__ = "feed_held"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Feed sequence of the held item; 0 for the desk's own copy taken before its change.
    seq: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict[str, Any]]


@dataclass(frozen=True)
class OptimisticKind:
    """A feed kind the desk changes optimistically.

    `commands` are the staff commands that change one record of it, named by the path parameter
    `param`. `version` orders two portal snapshots of the same record (later is greater), e.g.
    the time of the portal's last change.
    """

    kind: str
    commands: frozenset[str]
    param: str
    version: Callable[[dict[str, Any]], Any]


def _when(data: dict[str, Any], key: str) -> datetime:
    value = data.get(key)
    return datetime.fromisoformat(value) if value else datetime.min.replace(tzinfo=UTC)


CHECKIN = "checkin"
APPOINTMENT = "appointment"

#: The kinds the desk changes optimistically; a new one (messages, links ...) is added here.
OPTIMISTIC: tuple[OptimisticKind, ...] = (
    # A status change shows on the board at once and is replaced by the portal's word.
    # A desk check-in shows at once under the id the desk chose; before it settles, the desk's
    # own "no such check-in yet" is held (a delete), so a refused one disappears again.
    OptimisticKind(
        CHECKIN,
        frozenset({SET_CHECKIN_STATUS.name, CHECK_IN_AT_DESK.name}),
        "checkin_id",
        lambda data: _when(data, "status_changed_at"),
    ),
    # A no-show mark shows on the schedule at once; a refused one (the patient arrived) goes.
    OptimisticKind(
        APPOINTMENT,
        frozenset({MARK_NO_SHOW.name}),
        "appointment_id",
        lambda data: _when(data, "no_show_at"),
    ),
    # A decision takes the registration out of this desk's queue at once (its own columns); the
    # portal's word on the registration waits until the decision settles.
    OptimisticKind(
        registrations.KIND,
        frozenset({MATCH_REGISTRATION.name, REJECT_REGISTRATION.name}),
        "registration_id",
        lambda data: _when(data, "decided_at"),
    ),
    # The same for a myInfo decision: the change leaves this desk's queue at once.
    OptimisticKind(
        myinfo.KIND,
        frozenset({DECIDE_DEMOGRAPHIC_CHANGE.name}),
        "change_id",
        lambda data: _when(data, "decided_at"),
    ),
)
_BY_KIND = {spec.kind: spec for spec in OPTIMISTIC}
_BY_COMMAND = {command: spec for spec in OPTIMISTIC for command in spec.commands}


def record_of(command: str, params: Mapping[str, str]) -> tuple[str, str] | None:
    """(kind, record id) an outbox command changes optimistically, or None."""
    spec = _BY_COMMAND.get(command)
    if spec is None or spec.param not in params:
        return None
    return spec.kind, params[spec.param]


def in_flight(session: Session) -> set[tuple[str, str]]:
    """Records with an outbox item that is neither sent nor refused."""
    rows = session.execute(
        select(OutboxEntry.command, OutboxEntry.params).where(
            OutboxEntry.failed.is_(False), OutboxEntry.command.in_(list(_BY_COMMAND))
        )
    )
    return {rec for command, params in rows if (rec := record_of(command, params)) is not None}


def _hold(session: Session, item: ChangeItem) -> None:
    held = session.get(HeldFeedItem, (item.kind, item.id))
    if held is None:
        session.add(
            HeldFeedItem(
                kind=item.kind, record_id=item.id, seq=item.seq, op=item.op, data=item.data
            )
        )
    elif item.seq >= held.seq:
        held.seq, held.op, held.data = item.seq, item.op, item.data


def apply_page(session: Session, items: Sequence[ChangeItem]) -> set[str]:
    """Apply one page of the feed, holding the items of records with a change in flight."""
    flying = in_flight(session) if items else set()
    if not flying:
        return feed.apply_changes(session, items)
    ready: list[ChangeItem] = []
    for item in items:
        if (item.kind, item.id) in flying:
            _hold(session, item)
        else:
            ready.append(item)
    return feed.apply_changes(session, ready)


def keep_before_change(
    session: Session, kind: str, record_id: str, data: dict[str, Any], op: str = "upsert"
) -> None:
    """Remember the desk's view of a record (portal wire form) before changing it locally, unless
    a portal state is held already: a refused change falls back to it. For a record the desk
    creates, `op` is "delete": until the portal has it, it does not exist."""
    if session.get(HeldFeedItem, (kind, record_id)) is None:
        session.add(HeldFeedItem(kind=kind, record_id=record_id, seq=0, op=op, data=data))
        session.flush()


def settle(
    session: Session, command: str, params: Mapping[str, str], answer: Any = None
) -> set[str]:
    """An outbox item (`command` with `params`) left the line (call after removing or parking
    it).

    When no other change for the record is in flight, write the portal's latest known state of
    it: `answer` (the command's response, if it carries the record) or the held feed item,
    whichever is newer. Returns the kinds written.
    """
    record = record_of(command, params)
    if record is None or record in in_flight(session):
        return set()
    kind, record_id = record
    spec = _BY_KIND[kind]
    held = session.get(HeldFeedItem, record)
    candidates: list[ChangeItem] = []
    if held is not None:
        candidates.append(
            ChangeItem.model_validate(
                {"seq": held.seq, "kind": kind, "op": held.op, "id": record_id, "data": held.data}
            )
        )
        session.delete(held)
        session.flush()
    if isinstance(answer, dict) and answer.get("id") == record_id:
        fresh = ChangeItem(seq=0, kind=kind, op="upsert", id=record_id, data=answer)
        held_item = candidates[0] if candidates else None
        if (
            held_item is None
            # The desk's own "not there yet" of a record it created: the portal's answer wins.
            or (held_item.seq == 0 and held_item.op == "delete")
            or (held_item.op == "upsert" and _newer(spec, answer, held_item.data))
        ):
            candidates.insert(0, fresh)
    for candidate in candidates:
        try:
            with session.begin_nested():
                feed.apply_changes(session, [candidate])
        except (ValidationError, ValueError, TypeError):
            # A malformed answer must not block the outbox; fall back to what the feed said.
            log.warning("Could not write a %s snapshot after its change settled", kind)
            continue
        return {kind}
    return set()


def _newer(spec: OptimisticKind, answer: dict[str, Any], held: dict[str, Any]) -> bool:
    try:
        return bool(spec.version(answer) > spec.version(held))
    except (KeyError, TypeError, ValueError):
        return False
