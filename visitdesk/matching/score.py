"""Scoring in the Fellegi-Sunter spirit, with evidence a person can read.

Each field of a pair (registration, record) gets an agreement level; each level carries the weight
``log2(m / u)``, where ``m`` is how often a true pair shows that level and ``u`` how often two
different people do. The weights add up to the score; a pair agreeing everywhere scores about 60,
a stranger born the same day about 5, and negative scores mean more disagrees than agrees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz.distance import JaroWinkler

from visitdesk.matching.index import CandidateIndex
from visitdesk.matching.records import MatchRecord, Person, normalize_record
from visitdesk.matching.settings import MatchSettings


class Field(StrEnum):
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    MIDDLE_NAME = "middle_name"
    DATE_OF_BIRTH = "date_of_birth"
    SEX = "sex"
    PHONE = "phone"
    EMAIL = "email"
    POSTAL_CODE = "postal_code"


class Level(StrEnum):
    EXACT = "exact"
    CLOSE = "close"
    NICKNAME = "nickname"
    TRANSPOSED = "transposed"
    PARTIAL = "partial"
    DISAGREE = "disagree"
    MISSING = "missing"


class Band(StrEnum):
    """How the desk presents a candidate: strong (at least the auto threshold), possible (at least
    the review threshold), weak (shown only because nothing better exists)."""

    STRONG = "strong"
    POSSIBLE = "possible"
    WEAK = "weak"


F, L = Field, Level

#: (m, u) per field and level. Starting values came from the published record-linkage literature on
#: US patient data (m for exact names and dates about 0.85-0.95; u from name and birth-date
#: frequencies: about 1 in 100 for a first name, 1 in 250 for a surname, 1 in 25,000 for a date
#: of birth). They were then checked against ``python bench/matching.py --estimate``, which counts
#: the levels over true pairs (m) and over pairs of different people met in the same blocks (u)
#: of the generated population; where the synthetic counts and the priors disagreed the values
#: below were moved towards the counts, except that rare levels keep the priors' caution.
#: Invariant kept on purpose: for every field EXACT weighs more than any other level, so a record
#: always ranks itself first.
M_U: dict[Field, dict[Level, tuple[float, float]]] = {
    F.FIRST_NAME: {
        L.EXACT: (0.88, 0.010),
        L.NICKNAME: (0.05, 0.002),
        L.PARTIAL: (0.02, 0.002),
        L.CLOSE: (0.03, 0.006),
        L.TRANSPOSED: (0.004, 0.0002),
        L.DISAGREE: (0.015, 0.98),
    },
    F.LAST_NAME: {
        L.EXACT: (0.85, 0.004),
        L.PARTIAL: (0.03, 0.0004),
        L.CLOSE: (0.03, 0.003),
        L.TRANSPOSED: (0.004, 0.0002),
        # Mostly surnames changed by marriage: common enough that it must not sink a true match.
        L.DISAGREE: (0.08, 0.99),
    },
    F.MIDDLE_NAME: {
        L.EXACT: (0.70, 0.02),
        L.PARTIAL: (0.25, 0.07),
        L.DISAGREE: (0.05, 0.91),
    },
    F.DATE_OF_BIRTH: {
        L.EXACT: (0.93, 0.00004),
        L.TRANSPOSED: (0.02, 0.00004),
        # Two of year, month and day agree: a typo, or chance (about 1 in 60 for strangers).
        L.CLOSE: (0.03, 0.016),
        L.DISAGREE: (0.02, 0.984),
    },
    F.SEX: {
        L.EXACT: (0.98, 0.5),
        L.DISAGREE: (0.02, 0.5),
    },
    F.PHONE: {
        # u is the share of a household's phone by relatives born the same day (twins) or met
        # through the phone key itself, not of random strangers.
        L.EXACT: (0.60, 0.0005),
        L.CLOSE: (0.03, 0.0005),
        L.DISAGREE: (0.37, 0.999),
    },
    F.EMAIL: {
        L.EXACT: (0.55, 0.0002),
        L.CLOSE: (0.05, 0.001),
        L.DISAGREE: (0.40, 0.999),
    },
    F.POSTAL_CODE: {
        L.EXACT: (0.80, 0.01),
        L.DISAGREE: (0.20, 0.99),
    },
}

WEIGHTS: dict[Field, dict[Level, float]] = {
    field: {level: round(math.log2(m / u), 2) for level, (m, u) in levels.items()}
    | {L.MISSING: 0.0}
    for field, levels in M_U.items()
}

# Internal, per field: (level, note) where note is what the reason needs (a shared name, which part
# of a date differs...). Kept as plain tuples: a ranking compares a hundred pairs in a millisecond.
Outcome = tuple[Level, str]
_MISSING: Outcome = (L.MISSING, "")
_EXACT: Outcome = (L.EXACT, "")
_DISAGREE: Outcome = (L.DISAGREE, "")


def _close_name(a: str, b: str, pa: str, pb: str, threshold: float) -> Outcome | None:
    if JaroWinkler.normalized_similarity(a, b, score_cutoff=threshold):
        return (L.CLOSE, "spelling")
    if pa and pa == pb and len(pa) > 1:
        return (L.CLOSE, "sound")
    return None


def _first_name(a: Person, b: Person, threshold: float) -> Outcome:
    ga, gb = a.given, b.given
    if not ga.compact or not gb.compact:
        return _MISSING
    if ga.compact == gb.compact:
        return _EXACT
    shared = set(ga.tokens) & set(gb.tokens)
    if shared:
        return (L.PARTIAL, min(shared))
    roots = ga.roots & gb.roots
    if roots:
        return (L.NICKNAME, min(roots))
    if (len(ga.compact) == 1 and gb.compact[0] == ga.compact) or (
        len(gb.compact) == 1 and ga.compact[0] == gb.compact
    ):
        return (L.PARTIAL, "initial")
    return _close_name(ga.compact, gb.compact, ga.phonetic, gb.phonetic, threshold) or _DISAGREE


def _last_name(a: Person, b: Person, threshold: float) -> Outcome:
    fa, fb = a.family, b.family
    if not fa.compact or not fb.compact:
        return _MISSING
    if fa.compact == fb.compact:
        return _EXACT
    shared = fa.parts & fb.parts
    if shared:
        return (L.PARTIAL, min(shared))
    return _close_name(fa.compact, fb.compact, fa.phonetic, fb.phonetic, threshold) or _DISAGREE


def _middle_name(a: Person, b: Person) -> Outcome:
    if not a.middle or not b.middle:
        return _MISSING
    if a.middle == b.middle:
        return _EXACT
    if a.middle[0] == b.middle[0] and (len(a.middle) == 1 or len(b.middle) == 1):
        return (L.PARTIAL, "initial")
    return _DISAGREE


def _date_of_birth(a: Person, b: Person) -> Outcome:
    da, db = a.dob, b.dob
    if da is None or db is None:
        return _MISSING
    if da == db:
        return _EXACT
    if da.year == db.year and da.day == db.month and da.month == db.day:
        return (L.TRANSPOSED, "")
    differs = [
        part
        for part, x, y in (
            ("year", da.year, db.year),
            ("month", da.month, db.month),
            ("day", da.day, db.day),
        )
        if x != y
    ]
    if len(differs) == 1:
        return (L.CLOSE, differs[0])
    return _DISAGREE


def _same_or_not(x: str, y: str) -> Outcome:
    if not x or not y:
        return _MISSING
    return _EXACT if x == y else _DISAGREE


def _phone(a: Person, b: Person) -> Outcome:
    x, y = a.phone, b.phone
    if not x or not y:
        return _MISSING
    if x == y:
        return _EXACT
    if len(x) == len(y) and sum(p != q for p, q in zip(x, y, strict=True)) == 1:
        return (L.CLOSE, "digit")
    if len(x) != len(y) and min(len(x), len(y)) >= 7 and x[-7:] == y[-7:]:
        return (L.CLOSE, "area")
    return _DISAGREE


def _email(a: Person, b: Person, threshold: float) -> Outcome:
    x, y = a.email, b.email
    if not x or not y:
        return _MISSING
    if x == y:
        return _EXACT
    if x.partition("@")[0] == y.partition("@")[0]:
        return (L.CLOSE, "mailbox")
    if JaroWinkler.normalized_similarity(x, y, score_cutoff=threshold):
        return (L.CLOSE, "spelling")
    return _DISAGREE


def _transposed(a: Person, b: Person) -> bool:
    ga, fa, gb, fb = a.given.compact, a.family.compact, b.given.compact, b.family.compact
    return bool(ga and fa and ga != fa and ga == fb and fa == gb)


def compare_people(
    a: Person, b: Person, settings: MatchSettings
) -> tuple[float, dict[Field, Outcome]]:
    """Score two normalised people; symmetric in its arguments."""
    threshold = settings.close_threshold
    if _transposed(a, b):
        swapped: Outcome = (L.TRANSPOSED, "")
        first, last = swapped, swapped
    else:
        first, last = _first_name(a, b, threshold), _last_name(a, b, threshold)
    outcomes = {
        F.FIRST_NAME: first,
        F.LAST_NAME: last,
        F.MIDDLE_NAME: _middle_name(a, b),
        F.DATE_OF_BIRTH: _date_of_birth(a, b),
        F.SEX: _same_or_not(a.sex, b.sex),
        F.PHONE: _phone(a, b),
        F.EMAIL: _email(a, b, settings.close_email_threshold),
        F.POSTAL_CODE: _same_or_not(a.postal, b.postal),
    }
    total = sum(WEIGHTS[field][level] for field, (level, _) in outcomes.items())
    return round(total, 2), outcomes


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why one field counts for or against a candidate, in words the desk can show."""

    field: Field
    level: Level
    registration_value: str
    record_value: str
    weight: float
    reason: str


@dataclass(frozen=True, slots=True)
class Candidate:
    record_id: str
    score: float
    band: Band
    evidence: tuple[Evidence, ...]
    #: Other records with the same normalised name and date of birth (twins, namesakes, or a
    #: duplicate record): the desk must make the person look twice.
    namesakes: tuple[str, ...] = ()

    def level(self, field: Field) -> Level:
        return next(e.level for e in self.evidence if e.field is field)


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split())


def _phone_text(digits: str) -> str:
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return digits


def display_value(field: Field, person: Person) -> str:
    """A field of a normalised person as the desk shows it."""
    match field:
        case F.FIRST_NAME:
            return person.given.display
        case F.LAST_NAME:
            return person.family.display
        case F.MIDDLE_NAME:
            return _title(person.middle)
        case F.DATE_OF_BIRTH:
            return person.dob.isoformat() if person.dob else ""
        case F.SEX:
            return person.sex
        case F.PHONE:
            return _phone_text(person.phone)
        case F.EMAIL:
            return person.email
        case F.POSTAL_CODE:
            return person.postal
    raise AssertionError(field)


_CLOSE_WORDS = {"spelling": "similar spelling", "sound": "sounds alike"}
_PLAIN = {
    F.FIRST_NAME: "first name",
    F.LAST_NAME: "surname",
    F.MIDDLE_NAME: "middle name",
    F.DATE_OF_BIRTH: "date of birth",
    F.SEX: "sex",
    F.PHONE: "phone",
    F.EMAIL: "email",
    F.POSTAL_CODE: "ZIP code",
}


def _reason(
    field: Field, outcome: Outcome, reg: Person, rec: Person, outcomes: Mapping[Field, Outcome]
) -> str:
    level, note = outcome
    plain = _PLAIN[field]
    if level is L.MISSING:
        if not display_value(field, reg):
            return f"{plain} not given on the registration"
        return f"{plain} not on the record"
    if level is L.EXACT:
        return f"same {plain}"
    if level is L.TRANSPOSED:
        if field is F.DATE_OF_BIRTH:
            return "day and month swapped"
        return "first and last name swapped"
    if level is L.NICKNAME:
        reg_name, rec_name = reg.given.compact, rec.given.compact
        if note == rec_name:
            return f"{_title(reg.given.display)} is a nickname of {_title(note)}"
        if note == reg_name:
            return f"{_title(rec.given.display)} is a nickname of {_title(note)}"
        return f"both are forms of {_title(note)}"
    if level is L.PARTIAL:
        if note == "initial":
            return f"{plain} initial agrees"
        if field is F.LAST_NAME:
            longer = reg if len(reg.family.parts) > len(rec.family.parts) else rec
            return f"{_title(note)} is part of the compound surname {longer.family.display}"
        return f"one given name agrees ({_title(note)})"
    if level is L.CLOSE:
        if field is F.DATE_OF_BIRTH:
            return f"{note} differs, the rest agrees"
        if field is F.PHONE:
            return "differs by one digit" if note == "digit" else "same number, area code differs"
        if field is F.EMAIL:
            return (
                "same mailbox name, different domain" if note == "mailbox" else "similar spelling"
            )
        return _CLOSE_WORDS[note]
    # DISAGREE
    if (
        field is F.LAST_NAME
        and outcomes[F.DATE_OF_BIRTH][0] is L.EXACT
        and outcomes[F.FIRST_NAME][0] in (L.EXACT, L.NICKNAME)
    ):
        return "surname changed; first name and date of birth agree"
    if field in (F.PHONE, F.EMAIL):
        return f"different {plain} (contact details change)"
    return f"different {plain}"


def explain(reg: Person, rec: Person, outcomes: Mapping[Field, Outcome]) -> tuple[Evidence, ...]:
    return tuple(
        Evidence(
            field=field,
            level=outcome[0],
            registration_value=display_value(field, reg),
            record_value=display_value(field, rec),
            weight=WEIGHTS[field][outcome[0]],
            reason=_reason(field, outcome, reg, rec, outcomes),
        )
        for field, outcome in outcomes.items()
    )


def band(score: float, settings: MatchSettings) -> Band:
    if score >= settings.auto_threshold:
        return Band.STRONG
    if score >= settings.review_threshold:
        return Band.POSSIBLE
    return Band.WEAK


@dataclass(frozen=True, slots=True)
class Comparison:
    score: float
    evidence: tuple[Evidence, ...]

    def level(self, field: Field) -> Level:
        return next(e.level for e in self.evidence if e.field is field)


def compare(
    registration: MatchRecord, record: MatchRecord, settings: MatchSettings | None = None
) -> Comparison:
    """Score one registration (or record) against one record, with evidence."""
    settings = settings or MatchSettings()
    reg, rec = normalize_record(registration), normalize_record(record)
    total, outcomes = compare_people(reg, rec, settings)
    return Comparison(total, explain(reg, rec, outcomes))


# --------------------------------------------------------------------------- ranking


def _same_name_and_dob(a: Person, b: Person) -> bool:
    return (
        a.dob == b.dob
        and a.given.compact == b.given.compact
        and a.family.compact == b.family.compact
    )


def namesakes(index: CandidateIndex, record_id: str) -> tuple[str, ...]:
    """Other records sharing this record's normalised first name, surname and date of birth."""
    person = index.person(record_id)
    if person.dob is None or not person.given.compact or not person.family.compact:
        return ()
    return tuple(
        sorted(
            other_id
            for other_id, other in index.born_on(person.dob)
            if other_id != record_id and _same_name_and_dob(person, other)
        )
    )


def rank(
    registration: MatchRecord,
    index: CandidateIndex,
    top: int = 5,
    settings: MatchSettings | None = None,
) -> list[Candidate]:
    """The ``top`` records most likely to be the registering person, best first, with evidence.

    Only records sharing a blocking key are scored (see ``CandidateIndex``). Ties are broken by
    record id so that every workstation shows the same order.
    """
    settings = settings or index.settings
    reg = normalize_record(registration)
    scored: list[tuple[float, str, Person, dict[Field, Outcome]]] = []
    for slot in index.candidate_slots(reg):
        record_id, rec = index.slot_record(slot)
        total, outcomes = compare_people(reg, rec, settings)
        scored.append((total, record_id, rec, outcomes))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [
        Candidate(
            record_id=record_id,
            score=total,
            band=band(total, settings),
            evidence=explain(reg, rec, outcomes),
            namesakes=namesakes(index, record_id),
        )
        for total, record_id, rec, outcomes in scored[:top]
    ]


def auto_connect(
    registration: MatchRecord, index: CandidateIndex, settings: MatchSettings | None = None
) -> str | None:
    """The record to connect a registration to without staff review, or None.

    Only when exactly one record agrees exactly on the normalised first name, surname and date of
    birth; and that record is not contradicted (score at least ``auto_threshold``, no conflicting
    sex or name suffix) and, by default, a phone or email agrees too. Everything else goes to the
    registration queue, where a person decides with the evidence in front of them.
    """
    settings = settings or index.settings
    reg = normalize_record(registration)
    if reg.dob is None or not reg.given.compact or not reg.family.compact:
        return None
    exact = [(rid, rec) for rid, rec in index.born_on(reg.dob) if _same_name_and_dob(reg, rec)]
    if len(exact) != 1:
        return None
    record_id, rec = exact[0]
    total, outcomes = compare_people(reg, rec, settings)
    if total < settings.auto_threshold:
        return None
    if outcomes[F.SEX][0] is L.DISAGREE or (reg.suffix and rec.suffix and reg.suffix != rec.suffix):
        return None
    if settings.auto_requires_contact and L.EXACT not in (
        outcomes[F.PHONE][0],
        outcomes[F.EMAIL][0],
    ):
        return None
    return record_id
