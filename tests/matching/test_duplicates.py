"""Warnings about existing records that look like one person or share name and date of birth."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from visitdesk.matching import (
    CandidateIndex,
    DuplicateKind,
    MatchRecord,
    duplicate_pairs,
    looks_like_duplicate,
)

from .helpers import MARGARET, ROBERT


def test_a_copy_with_a_nickname_is_a_likely_duplicate() -> None:
    copy = replace(ROBERT, record_id="P7", first_name="Bob")
    warning = looks_like_duplicate(copy, ROBERT)
    assert warning is not None
    assert warning.kind is DuplicateKind.LIKELY_SAME_PERSON
    assert (warning.record_a, warning.record_b) == ("P1", "P7")
    assert "same person" in warning.message


def test_namesakes_born_the_same_day_are_flagged() -> None:
    namesake = MatchRecord("P8", "Robert", "Smith", ROBERT.date_of_birth, phone="555 999 0000")
    warning = looks_like_duplicate(ROBERT, namesake)
    assert warning is not None
    assert warning.kind is DuplicateKind.SAME_NAME_AND_BIRTH_DATE
    assert "twins, namesakes" in warning.message


def test_twins_with_different_names_and_strangers_are_not_flagged() -> None:
    # Same surname, birthday, phone, ZIP and email: a household, not one person.
    twin = replace(ROBERT, record_id="P9", first_name="Richard", middle_name="")
    assert looks_like_duplicate(ROBERT, twin) is None
    assert looks_like_duplicate(ROBERT, MARGARET) is None


def test_duplicate_pairs_walks_the_index() -> None:
    records = [
        ROBERT,
        MARGARET,
        replace(ROBERT, record_id="P7", first_name="Bob", date_of_birth=date(1980, 4, 3)),
        MatchRecord("P8", "Margaret", "Garcia", MARGARET.date_of_birth, phone="555 999 0000"),
        MatchRecord("P9", "Zed", "Quux", date(2001, 9, 9)),
    ]
    warnings = {
        (w.record_a, w.record_b): w.kind for w in duplicate_pairs(CandidateIndex.build(records))
    }
    assert warnings == {
        ("P1", "P7"): DuplicateKind.LIKELY_SAME_PERSON,
        ("P2", "P8"): DuplicateKind.SAME_NAME_AND_BIRTH_DATE,
    }
