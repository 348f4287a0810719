"""Candidate generation by blocking: a registration is compared only with the records sharing a key.

Keys (a record sits under each of its keys; a registration looks up the same keys):

* date of birth; the registration also looks up its date with day and month swapped;
* phone (normalised digits) and email (case-folded);
* phonetic surname (whole and each part of a compound) + first letter of the given name or of a
  name it is short for + birth year, and the same with month-and-day instead of year, so that a
  typo in the date still leaves one of the two intact.

Memory at a million records: records live in two parallel lists (id, ``Person`` tuple) addressed
by a slot number; a key maps to a bare ``int`` slot while it holds one record and to an
``array('I')`` of slots beyond that, which keeps the many unique phone and email keys cheap.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from datetime import date
from typing import TypeAlias

from visitdesk.matching.normalize import swap_day_month
from visitdesk.matching.records import MatchRecord, Person, normalize_record
from visitdesk.matching.settings import MatchSettings

Block: TypeAlias = "int | array[int]"


def _put(table: dict[object, Block], key: object, slot: int) -> None:
    block = table.get(key)
    if block is None:
        table[key] = slot
    elif isinstance(block, int):
        table[key] = array("I", (block, slot))
    else:
        block.append(slot)


def _drop(table: dict[object, Block], key: object, slot: int) -> None:
    block = table.get(key)
    if block is None:
        return
    if isinstance(block, int):
        if block == slot:
            del table[key]
        return
    if slot in block:
        block.remove(slot)
        if len(block) == 1:
            table[key] = block[0]


def _slots(block: Block | None) -> tuple[int, ...] | array[int]:
    if block is None:
        return ()
    if isinstance(block, int):
        return (block,)
    return block


def name_keys(person: Person) -> set[int]:
    """The phonetic-surname keys of a normalised person (see the module docstring).

    Hashes of (surname sound, initial, year or month-day) rather than the tuples themselves: two
    million keys at a million records, and an int is half the size of the string. A collision only
    adds a stranger to a block, whom scoring then ranks where he belongs.
    """
    phonetics = person.family.phonetics
    initials = person.given.initials
    if not phonetics or not initials:
        return set()
    dob = person.dob
    if dob is None:
        return {hash((p, i)) for p in phonetics for i in initials}
    return {
        hash((p, i, k))
        for p in phonetics
        for i in initials
        for k in (dob.year, -dob.month * 100 - dob.day)
    }


class CandidateIndex:
    """Records by blocking key, built once and kept current with ``add``/``update``/``remove``."""

    def __init__(self, settings: MatchSettings | None = None) -> None:
        self.settings = settings or MatchSettings()
        self._ids: list[str | None] = []
        self._people: list[Person | None] = []
        self._slot_of: dict[str, int] = {}
        self._free: list[int] = []
        self._by_dob: dict[object, Block] = {}
        self._by_phone: dict[object, Block] = {}
        self._by_email: dict[object, Block] = {}
        self._by_name: dict[object, Block] = {}

    @classmethod
    def build(
        cls, records: Iterable[MatchRecord], settings: MatchSettings | None = None
    ) -> CandidateIndex:
        index = cls(settings)
        for record in records:
            index.add(record)
        return index

    # ------------------------------------------------------------------ changes

    def add(self, record: MatchRecord) -> None:
        """Index a new record; a record id already present raises ``KeyError``."""
        if record.record_id in self._slot_of:
            raise KeyError(f"record {record.record_id!r} is already indexed")
        person = normalize_record(record)
        if self._free:
            slot = self._free.pop()
            self._ids[slot] = record.record_id
            self._people[slot] = person
        else:
            slot = len(self._ids)
            self._ids.append(record.record_id)
            self._people.append(person)
        self._slot_of[record.record_id] = slot
        self._file(slot, person)

    def update(self, record: MatchRecord) -> None:
        """Re-index a changed record (adds it when unknown)."""
        slot = self._slot_of.get(record.record_id)
        if slot is None:
            self.add(record)
            return
        old = self._people[slot]
        assert old is not None
        person = normalize_record(record)
        self._unfile(slot, old)
        self._people[slot] = person
        self._file(slot, person)

    def remove(self, record_id: str) -> None:
        """Forget a record (merged away or deleted); unknown ids are ignored."""
        slot = self._slot_of.pop(record_id, None)
        if slot is None:
            return
        old = self._people[slot]
        assert old is not None
        self._unfile(slot, old)
        self._ids[slot] = None
        self._people[slot] = None
        self._free.append(slot)

    def _file(self, slot: int, person: Person) -> None:
        if person.dob is not None:
            _put(self._by_dob, person.dob, slot)
        if person.phone:
            _put(self._by_phone, person.phone, slot)
        if person.email:
            _put(self._by_email, person.email, slot)
        for key in name_keys(person):
            _put(self._by_name, key, slot)

    def _unfile(self, slot: int, person: Person) -> None:
        if person.dob is not None:
            _drop(self._by_dob, person.dob, slot)
        if person.phone:
            _drop(self._by_phone, person.phone, slot)
        if person.email:
            _drop(self._by_email, person.email, slot)
        for key in name_keys(person):
            _drop(self._by_name, key, slot)

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._slot_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._slot_of)

    def person(self, record_id: str) -> Person:
        """The normalised fields of an indexed record."""
        person = self._people[self._slot_of[record_id]]
        assert person is not None
        return person

    def slot_record(self, slot: int) -> tuple[str, Person]:
        record_id, person = self._ids[slot], self._people[slot]
        assert record_id is not None and person is not None
        return record_id, person

    def born_on(self, dob: date) -> Iterator[tuple[str, Person]]:
        """Every record with this date of birth, however many (no cap)."""
        for slot in _slots(self._by_dob.get(dob)):
            yield self.slot_record(slot)

    def dates_of_birth(self) -> Iterator[date]:
        for dob in self._by_dob:
            assert isinstance(dob, date)
            yield dob

    def candidate_slots(self, person: Person) -> set[int]:
        """Slots of every record sharing at least one blocking key with ``person``.

        Blocks larger than ``settings.max_block_size`` are skipped: the other keys still reach a
        true match in them, and scoring thousands of records would break the latency budget.
        """
        cap = self.settings.max_block_size
        blocks: list[Block | None] = []
        if person.dob is not None:
            blocks.append(self._by_dob.get(person.dob))
            swapped = swap_day_month(person.dob)
            if swapped is not None:
                blocks.append(self._by_dob.get(swapped))
        if person.phone:
            blocks.append(self._by_phone.get(person.phone))
        if person.email:
            blocks.append(self._by_email.get(person.email))
        blocks.extend(self._by_name.get(key) for key in name_keys(person))
        found: set[int] = set()
        for block in blocks:
            if block is None:
                continue
            if isinstance(block, int):
                found.add(block)
            elif len(block) <= cap:
                found.update(block)
        return found

    def block_sizes(self) -> dict[str, tuple[int, int]]:
        """Per kind of key: (number of keys, largest block), for the benchmark and diagnostics."""
        return {
            name: (len(table), max((len(_slots(b)) for b in table.values()), default=0))
            for name, table in (
                ("date_of_birth", self._by_dob),
                ("phone", self._by_phone),
                ("email", self._by_email),
                ("surname_sound", self._by_name),
            )
        }
