"""Blocking, ranking, auto-connect and incremental updates of the candidate index."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from visitdesk.matching import (
    Band,
    Candidate,
    CandidateIndex,
    Field,
    Level,
    MatchRecord,
    MatchSettings,
    auto_connect,
    namesakes,
    rank,
)
from visitdesk.matching.index import name_keys
from visitdesk.matching.records import normalize_record

from .helpers import MARGARET, ROBERT, registration

OTHERS = [
    MatchRecord("P3", "Roberta", "Smithers", date(1980, 3, 4), sex="F"),
    MatchRecord("P4", "William", "Brown", date(1962, 7, 21), sex="M", phone="555 777 8888"),
    MatchRecord("P5", "Ana", "Smith-Jones", date(1999, 12, 31), sex="F", email="ana@example.net"),
]


def index_of(*records: MatchRecord, settings: MatchSettings | None = None) -> CandidateIndex:
    return CandidateIndex.build([ROBERT, MARGARET, *OTHERS, *records], settings)


def ids(candidates: list[Candidate]) -> list[str]:
    return [c.record_id for c in candidates]


def test_build_counts_and_lookup() -> None:
    index = index_of()
    assert len(index) == 5
    assert "P1" in index and "P9" not in index
    assert index.person("P1").phone == "5551234567"
    assert sorted(index) == ["P1", "P2", "P3", "P4", "P5"]


def test_rank_puts_the_patient_first_with_evidence() -> None:
    ranked = rank(registration(first_name="Bob", phone=""), index_of())
    assert ranked[0].record_id == "P1"
    assert ranked[0].level(Field.FIRST_NAME) is Level.NICKNAME
    assert ranked[0].band in (Band.STRONG, Band.POSSIBLE)
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)


def test_rank_reaches_a_swapped_date() -> None:
    ranked = rank(registration(date_of_birth=date(1980, 4, 3), phone="", email=""), index_of())
    assert ranked[0].record_id == "P1"
    assert ranked[0].level(Field.DATE_OF_BIRTH) is Level.TRANSPOSED


def test_rank_reaches_a_wrong_year_through_the_surname_sound() -> None:
    reg = registration(date_of_birth=date(1908, 3, 4), phone="", email="", last_name="Smyth")
    assert ids(rank(reg, index_of()))[:1] == ["P1"]


def test_rank_reaches_a_wrong_date_through_the_phone_or_email() -> None:
    reg = registration(MARGARET, date_of_birth=date(1957, 2, 11), last_name="Okafor", email="")
    assert ids(rank(reg, index_of()))[:1] == ["P2"]
    reg = registration(OTHERS[2], date_of_birth=date(1901, 1, 1), last_name="Okafor")
    assert ids(rank(reg, index_of()))[:1] == ["P5"]


def test_rank_never_scans_everything() -> None:
    stranger = MatchRecord("R9", "Zed", "Quux", date(2001, 9, 9), phone="555-000-1234")
    assert rank(stranger, index_of()) == []


def test_rank_honours_top_and_orders_ties_by_id() -> None:
    twins = [MatchRecord(f"T{i}", "Sam", "Lee", date(2010, 5, 6)) for i in (3, 1, 2)]
    index = CandidateIndex.build(twins)
    ranked = rank(MatchRecord("R1", "Sam", "Lee", date(2010, 5, 6)), index, top=2)
    assert ids(ranked) == ["T1", "T2"]
    assert ranked[0].namesakes == ("T2", "T3")


def test_oversized_blocks_are_skipped() -> None:
    letters = "abcdefghijklmnopqrstuvwxyzABCD"
    crowd = [
        MatchRecord(f"C{i}", f"Name{ch}", f"Family{ch}", date(1900, 1, 1))
        for i, ch in enumerate(letters)
    ]
    index = CandidateIndex.build(crowd, MatchSettings(max_block_size=10))
    reg = MatchRecord("R1", "Other", "Person", date(1900, 1, 1))
    assert rank(reg, index) == []
    assert rank(replace(reg, first_name="Nameh", last_name="Familyh"), index)[0].record_id == "C7"


def test_auto_connect_on_exact_name_dob_and_a_contact() -> None:
    index = index_of()
    assert auto_connect(registration(first_name="ROBERT ", phone="", middle_name=""), index) == "P1"


def test_auto_connect_refuses_everything_else() -> None:
    index = index_of()
    assert auto_connect(registration(first_name="Bob"), index) is None
    assert auto_connect(registration(last_name="Smiht"), index) is None
    assert auto_connect(registration(date_of_birth=date(1980, 4, 3)), index) is None
    # Name and date agree but nothing else does: a namesake born the same day is not connected.
    assert auto_connect(registration(phone="999 888 7777", email="someone@else.org"), index) is None
    assert auto_connect(registration(sex="F"), index) is None
    assert auto_connect(registration(date_of_birth=None), index) is None


def test_auto_connect_refuses_when_two_records_agree_exactly() -> None:
    twin = replace(ROBERT, record_id="P1B", middle_name="", email="", phone="")
    index = index_of(twin)
    assert auto_connect(registration(), index) is None
    assert namesakes(index, "P1") == ("P1B",)
    assert rank(registration(), index)[0].namesakes == ("P1B",)


def test_auto_connect_without_the_contact_rule() -> None:
    settings = MatchSettings(auto_requires_contact=False, auto_threshold=25)
    index = index_of(settings=settings)
    reg = registration(phone="999 888 7777", email="someone@else.org")
    assert auto_connect(reg, index) == "P1"


def test_conflicting_suffix_blocks_auto_connect() -> None:
    father = replace(ROBERT, last_name="Smith Sr")
    index = CandidateIndex.build([father])
    assert auto_connect(registration(last_name="Smith Jr"), index) is None
    assert auto_connect(registration(last_name="Smith Sr"), index) == "P1"


def test_add_update_remove_keep_the_blocks_current() -> None:
    index = index_of()
    reg = registration(MARGARET, last_name="Lopez", phone="", email="")
    assert ids(rank(reg, index))[:1] == ["P2"]

    index.remove("P2")
    assert "P2" not in index and len(index) == 4
    assert "P2" not in ids(rank(reg, index))
    index.remove("P2")  # unknown ids are ignored

    index.add(MARGARET)
    assert ids(rank(reg, index))[:1] == ["P2"]

    moved = replace(MARGARET, date_of_birth=date(1976, 1, 1), phone="555 000 1111")
    index.update(moved)
    assert index.person("P2").dob == date(1976, 1, 1)
    assert "P2" not in ids(rank(reg, index))  # the old date no longer reaches her
    assert ids(rank(replace(reg, date_of_birth=date(1976, 1, 1)), index))[:1] == ["P2"]
    assert ids(rank(MatchRecord("R2", "X", "Y", None, phone="5550001111"), index)) == ["P2"]
    assert rank(MatchRecord("R2", "X", "Y", None, phone="555-222-3333"), index) == []


def test_add_twice_is_refused_and_update_adds() -> None:
    index = CandidateIndex()
    index.add(ROBERT)
    try:
        index.add(ROBERT)
    except KeyError:
        pass
    else:
        raise AssertionError("a second add of one id must fail")
    index.update(MARGARET)
    assert len(index) == 2


def test_slots_are_reused_after_removal() -> None:
    index = index_of()
    index.remove("P3")
    newcomer = MatchRecord("P6", "Sam", "Lee", date(2000, 1, 2))
    index.add(newcomer)
    assert len(index) == 5
    assert rank(replace(newcomer, record_id="R6"), index)[0].record_id == "P6"
    assert len(index._ids) == 5  # the freed slot was taken, the lists did not grow


def test_blocks_shrink_back_when_emptied() -> None:
    index = CandidateIndex()
    for record in (ROBERT, MARGARET, *OTHERS):
        index.add(record)
    for record in (ROBERT, MARGARET, *OTHERS):
        index.remove(record.record_id)
    assert len(index) == 0
    assert all(keys == 0 for keys, _ in index.block_sizes().values())


def test_name_keys_cover_nicknames_and_compound_parts() -> None:
    bob = normalize_record(MatchRecord("R", "Bob", "Jones", date(1980, 3, 4)))
    robert = normalize_record(MatchRecord("P", "Robert", "Smith-Jones", date(1980, 3, 4)))
    assert name_keys(bob) & name_keys(robert)
