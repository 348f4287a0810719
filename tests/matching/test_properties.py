"""Properties: normalisation is idempotent, scoring is symmetric, a record ranks itself first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visitdesk.matching import CandidateIndex, MatchRecord, MatchSettings, compare, rank
from visitdesk.matching.index import name_keys
from visitdesk.matching.normalize import (
    compact,
    fold,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_sex,
)
from visitdesk.matching.records import normalize_record
from visitdesk.matching.score import WEIGHTS

NAMES = [
    "Robert",
    "Bob",
    "Margaret",
    "Peggy",
    "José",
    "Jose",
    "Smith",
    "Smith-Jones",
    "Jones",
    "O'Brien",
    "García",
    "Garcia",
    "Mary Ann",
    "Lee",
    "R",
    "Catherine",
    "Kathryn",
    "Zoë",
]
name_text = st.one_of(st.sampled_from(NAMES), st.text(max_size=20))
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))
records = st.builds(
    MatchRecord,
    record_id=st.text(min_size=1, max_size=6),
    first_name=name_text,
    last_name=name_text,
    date_of_birth=st.one_of(st.none(), dates),
    middle_name=st.one_of(st.just(""), st.sampled_from(["J", "James", "Ann"])),
    sex=st.sampled_from(["", "F", "M", "X", "U"]),
    phone=st.one_of(
        st.just(""), st.from_regex(r"\+?1? ?\(?[2-9][0-9]{2}\)? ?[0-9]{3}-[0-9]{4}", fullmatch=True)
    ),
    email=st.one_of(st.just(""), st.emails()),
    postal_code=st.one_of(st.just(""), st.from_regex(r"[0-9]{5}", fullmatch=True)),
)


@given(st.text())
def test_normalisation_is_idempotent(text: str) -> None:
    for normalize in (
        fold,
        normalize_name,
        compact,
        normalize_phone,
        normalize_email,
        normalize_postal_code,
        normalize_sex,
    ):
        once = normalize(text)
        assert normalize(once) == once, normalize.__name__


@given(records, records)
def test_scoring_is_symmetric(a: MatchRecord, b: MatchRecord) -> None:
    ab, ba = compare(a, b), compare(b, a)
    assert ab.score == ba.score
    assert [(e.field, e.level, e.weight) for e in ab.evidence] == [
        (e.field, e.level, e.weight) for e in ba.evidence
    ]


@given(records)
def test_a_record_compared_with_itself_agrees_wherever_given(record: MatchRecord) -> None:
    for evidence in compare(record, record).evidence:
        assert evidence.weight == max(WEIGHTS[evidence.field].values()) or evidence.weight == 0.0


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(st.lists(records, min_size=1, max_size=25), st.data())
def test_a_record_always_ranks_itself_first(
    population: list[MatchRecord], data: st.DataObject
) -> None:
    unique = list({r.record_id: r for r in population}.values())
    index = CandidateIndex.build(unique, MatchSettings(max_block_size=10_000))
    target = data.draw(st.sampled_from(unique))
    ranked = rank(replace(target, record_id="registration"), index, top=len(unique))
    # Only a record the normaliser sees as identical may tie with it; nothing scores higher.
    person = normalize_record(target)
    if person.dob or person.phone or person.email or name_keys(person):
        assert ranked, "the record must be reachable through one of its own keys"
        own = next(c for c in ranked if c.record_id == target.record_id)
        assert ranked[0].score == own.score
