"""Existing records that look like the same person, or share name and date of birth.

Two kinds of warning for the desk: a likely duplicate record (the pair scores like a true match)
and a same-name-same-birthday pair (twins, namesakes, or a duplicate) that staff must tell apart
before confirming either record for a registration.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import combinations

from visitdesk.matching.index import CandidateIndex
from visitdesk.matching.normalize import swap_day_month
from visitdesk.matching.records import MatchRecord, Person, normalize_record
from visitdesk.matching.score import Evidence, Field, Level, compare_people, explain
from visitdesk.matching.settings import MatchSettings


class DuplicateKind(StrEnum):
    LIKELY_SAME_PERSON = "likely_same_person"
    SAME_NAME_AND_BIRTH_DATE = "same_name_and_birth_date"


@dataclass(frozen=True, slots=True)
class DuplicateWarning:
    record_a: str
    record_b: str
    kind: DuplicateKind
    score: float
    evidence: tuple[Evidence, ...]

    @property
    def message(self) -> str:
        if self.kind is DuplicateKind.LIKELY_SAME_PERSON:
            return "These records look like the same person: check before matching either."
        return (
            "These records share name and date of birth (twins, namesakes or a duplicate): "
            "check which one the patient is."
        )


def _judge(
    a_id: str, a: Person, b_id: str, b: Person, settings: MatchSettings
) -> DuplicateWarning | None:
    total, outcomes = compare_people(a, b, settings)
    # Twins share surname, birthday, phone, address and often an email: a household's contacts
    # must not make two different first names "the same person".
    names_compatible = outcomes[Field.FIRST_NAME][0] is not Level.DISAGREE
    if total >= settings.duplicate_threshold and names_compatible:
        kind = DuplicateKind.LIKELY_SAME_PERSON
    elif (
        a.dob is not None
        and a.dob == b.dob
        and a.given.compact
        and a.given.compact == b.given.compact
        and a.family.compact == b.family.compact
    ):
        kind = DuplicateKind.SAME_NAME_AND_BIRTH_DATE
    else:
        return None
    first, second = sorted(((a_id, a), (b_id, b)), key=lambda item: item[0])
    return DuplicateWarning(
        first[0], second[0], kind, total, explain(first[1], second[1], outcomes)
    )


def looks_like_duplicate(
    a: MatchRecord, b: MatchRecord, settings: MatchSettings | None = None
) -> DuplicateWarning | None:
    """A warning when two records look like one person or share name and date of birth."""
    return _judge(
        a.record_id,
        normalize_record(a),
        b.record_id,
        normalize_record(b),
        settings or MatchSettings(),
    )


def _pair_keys(person: Person) -> set[tuple[str, str]]:
    # Within one birth date, only pairs sharing a given-name root, a surname sound or a contact
    # are compared: everyone else born that day differs in both names and every contact.
    keys = {("g", person.given.compact)} | {("r", r) for r in person.given.roots}
    keys |= {("s", p) for p in person.family.phonetics}
    if person.phone:
        keys.add(("p", person.phone))
    if person.email:
        keys.add(("e", person.email))
    return keys


def duplicate_pairs(
    index: CandidateIndex, settings: MatchSettings | None = None
) -> Iterator[DuplicateWarning]:
    """Every pair of indexed records that looks like a duplicate or shares name and birth date.

    Pairs are looked for among records born on the same day, or on the day with day and month
    swapped. It takes about a second per 200,000 records (bench machine), so run it in the
    background.
    """
    settings = settings or index.settings
    for dob in list(index.dates_of_birth()):
        group = list(index.born_on(dob))
        own = len(group)
        swapped = swap_day_month(dob)
        if swapped is not None and swapped > dob:
            group += list(index.born_on(swapped))
        if len(group) < 2:
            continue
        by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        for position, (_, person) in enumerate(group):
            for key in _pair_keys(person):
                by_key[key].append(position)
        pairs = {pair for members in by_key.values() for pair in combinations(members, 2)}
        for i, j in sorted(pairs):
            if i >= own:
                continue  # both born on the swapped day: that day's own walk compares them
            (a_id, a), (b_id, b) = group[i], group[j]
            warning = _judge(a_id, a, b_id, b, settings)
            if warning is not None:
                yield warning
