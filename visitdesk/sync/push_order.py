"""Which outbox items may travel at the same time: the push worker's ordering rule.

The outbox is a queue in `id` order. Sending it one item at a time keeps every order-dependent
effect right but leaves a practice's first load of a million ledger lines waiting on one request
after another. The rule below keeps the order wherever it can matter and drops it nowhere else:

**Two items commute** when both are batches of the same bulk upsert (`StaffCommand.bulk`, e.g.
patient batches among themselves) and they name no record in common. Applied in either order, or
at once, they leave the portal in the same state.

**An item may be sent** when it commutes with every item queued before it that is still pending,
and with every item already in flight. Consequences:

- patient batches go several at a time, and so do ledger batches;
- a ledger (or appointment) batch waits until every patient batch queued before it has been
  settled (accepted, or refused for good and parked), since its lines name patients by MRN;
- a batch that repeats a record of an earlier unsettled batch waits for it (last write wins, as
  in a queue);
- any other command (issue a code, match a registration, reply to a message, change a check-in
  status ...) commutes with nothing: it is sent alone, once everything queued before it is
  settled, and nothing queued after it is sent until it is settled. A refused item that a person
  puts back in line is such an item again.

A refused item leaves the line (parked for the user), exactly as in the one-at-a-time outbox; a
transient failure keeps the item pending, so nothing that depends on it passes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from visitdesk.api.commands import bulk_of
from visitdesk.sync.store import OutboxItem


@dataclass(frozen=True)
class Footprint:
    """What an outbox item touches, for the rule: its command, and for a bulk batch the records
    it names (None for an ordered command, or for a body that is not of its command's shape)."""

    command: str
    records: frozenset[str] | None

    @classmethod
    def of(cls, item: OutboxItem) -> Footprint:
        bulk = bulk_of(item.command)
        if bulk is None:
            return cls(item.command, None)
        if item.body is None and item.body_json is not None:
            return cls(item.command, bulk.keys_in_json(item.body_json))
        return cls(item.command, bulk.keys(item.body))

    def commutes_with(self, other: Footprint) -> bool:
        return (
            self.records is not None
            and other.records is not None
            and self.command == other.command
            and self.records.isdisjoint(other.records)
        )


class Ahead:
    """The items an item must commute with: those in flight and those queued before it.

    Once an ordered command, or two different commands, are ahead, nothing can pass any more."""

    def __init__(self, items: Iterable[Footprint] = ()) -> None:
        self.command: str | None = None
        self.record_sets: list[frozenset[str]] = []
        self.closed = False
        for footprint in items:
            self.add(footprint)

    def add(self, footprint: Footprint) -> None:
        if footprint.records is None or (
            self.command is not None and footprint.command != self.command
        ):
            self.closed = True
            return
        self.command = footprint.command
        self.record_sets.append(footprint.records)

    def lets_pass(self, footprint: Footprint) -> bool:
        if self.closed:
            return False
        if self.command is None:
            return True  # nothing ahead
        return (
            footprint.records is not None
            and footprint.command == self.command
            and all(footprint.records.isdisjoint(ahead) for ahead in self.record_sets)
        )


def ready_to_send(
    queued: Iterable[OutboxItem],
    ahead: Ahead,
    room: int,
    footprint_of: Callable[[OutboxItem], Footprint] = Footprint.of,
) -> tuple[list[OutboxItem], bool]:
    """Items of `queued` that may be sent now, at most `room` of them.

    `queued` continues the line of pending items not in flight, oldest first, without gaps;
    `ahead` starts as the items in flight and takes in every item looked at, so a further call
    with the next part of the line goes on where this one stopped. Returns the items to send, in
    order, and whether a later item could still be sent (False once nothing later could pass,
    or once `room` items were found). `footprint_of` may give remembered footprints.
    """
    chosen: list[OutboxItem] = []
    if room <= 0 or ahead.closed:
        return chosen, False
    for item in queued:
        footprint = footprint_of(item)
        if ahead.lets_pass(footprint):
            chosen.append(item)
        ahead.add(footprint)
        if ahead.closed or len(chosen) >= room:
            return chosen, False
    return chosen, True
