"""Agreement levels, weights and the reasons the desk shows, one level at a time."""

from __future__ import annotations

from datetime import date

import pytest

from visitdesk.matching import Field, Level, MatchRecord, MatchSettings, compare
from visitdesk.matching.score import M_U, WEIGHTS

from .helpers import MARGARET, ROBERT, registration


def evidence(reg: MatchRecord, rec: MatchRecord, field: Field) -> tuple[Level, str]:
    found = next(e for e in compare(reg, rec).evidence if e.field is field)
    return found.level, found.reason


def test_exact_copy_agrees_everywhere() -> None:
    result = compare(registration(), ROBERT)
    assert {e.level for e in result.evidence} == {Level.EXACT}
    assert result.score == pytest.approx(sum(WEIGHTS[f][Level.EXACT] for f in Field))


def test_formatting_differences_are_exact() -> None:
    reg = registration(
        first_name=" ROBERT ",
        last_name="smith jr.",
        phone="+1 555.123.4567",
        email=" Robert.Smith@EXAMPLE.com",
    )
    levels = {e.field: e.level for e in compare(reg, ROBERT).evidence}
    assert levels[Field.FIRST_NAME] is Level.EXACT
    assert levels[Field.LAST_NAME] is Level.EXACT
    assert levels[Field.PHONE] is Level.EXACT
    assert levels[Field.EMAIL] is Level.EXACT


def test_accents_do_not_matter() -> None:
    assert evidence(registration(MARGARET, last_name="Garcia"), MARGARET, Field.LAST_NAME) == (
        Level.EXACT,
        "same surname",
    )


def test_nickname() -> None:
    assert evidence(registration(first_name="Bob"), ROBERT, Field.FIRST_NAME) == (
        Level.NICKNAME,
        "Bob is a nickname of Robert",
    )
    assert evidence(registration(MARGARET, first_name="Peggy"), MARGARET, Field.FIRST_NAME) == (
        Level.NICKNAME,
        "Peggy is a nickname of Margaret",
    )


def test_two_nicknames_of_one_name() -> None:
    rec = MatchRecord("P9", "Rob", "Smith", date(1980, 3, 4))
    assert evidence(registration(first_name="Bobby"), rec, Field.FIRST_NAME) == (
        Level.NICKNAME,
        "both are forms of Robert",
    )


def test_close_spelling_and_sound() -> None:
    level, reason = evidence(registration(last_name="Smiht"), ROBERT, Field.LAST_NAME)
    assert (level, reason) == (Level.CLOSE, "similar spelling")
    rec = MatchRecord("P9", "Catherine", "Lee", date(1990, 1, 2))
    assert evidence(
        MatchRecord("R9", "Kathryn", "Lee", date(1990, 1, 2)), rec, Field.FIRST_NAME
    ) == (Level.CLOSE, "sounds alike")


def test_day_and_month_swapped() -> None:
    assert evidence(registration(date_of_birth=date(1980, 4, 3)), ROBERT, Field.DATE_OF_BIRTH) == (
        Level.TRANSPOSED,
        "day and month swapped",
    )


def test_one_part_of_the_date_differs() -> None:
    assert evidence(registration(date_of_birth=date(1981, 3, 4)), ROBERT, Field.DATE_OF_BIRTH) == (
        Level.CLOSE,
        "year differs, the rest agrees",
    )
    assert evidence(registration(date_of_birth=date(1990, 7, 9)), ROBERT, Field.DATE_OF_BIRTH)[
        0
    ] is (Level.DISAGREE)


def test_first_and_last_name_swapped() -> None:
    reg = registration(first_name="Smith", last_name="Robert")
    assert evidence(reg, ROBERT, Field.FIRST_NAME) == (
        Level.TRANSPOSED,
        "first and last name swapped",
    )
    assert evidence(reg, ROBERT, Field.LAST_NAME)[0] is Level.TRANSPOSED


def test_part_of_a_compound_surname() -> None:
    rec = MatchRecord("P9", "Ana", "Smith-Jones", date(1990, 1, 2))
    assert evidence(MatchRecord("R9", "Ana", "Jones", date(1990, 1, 2)), rec, Field.LAST_NAME) == (
        Level.PARTIAL,
        "Jones is part of the compound surname Smith-Jones",
    )


def test_one_given_name_or_initial_agrees() -> None:
    assert evidence(registration(first_name="Robert Lee"), ROBERT, Field.FIRST_NAME) == (
        Level.PARTIAL,
        "one given name agrees (Robert)",
    )
    assert evidence(registration(first_name="R."), ROBERT, Field.FIRST_NAME) == (
        Level.PARTIAL,
        "first name initial agrees",
    )
    assert evidence(registration(middle_name="J"), ROBERT, Field.MIDDLE_NAME) == (
        Level.PARTIAL,
        "middle name initial agrees",
    )


def test_surname_changed_is_explained() -> None:
    reg = registration(MARGARET, last_name="Lopez")
    assert evidence(reg, MARGARET, Field.LAST_NAME) == (
        Level.DISAGREE,
        "surname changed; first name and date of birth agree",
    )
    stranger = registration(MARGARET, last_name="Lopez", first_name="Ximena")
    assert evidence(stranger, MARGARET, Field.LAST_NAME) == (Level.DISAGREE, "different surname")


def test_missing_says_which_side() -> None:
    assert evidence(registration(phone=""), ROBERT, Field.PHONE) == (
        Level.MISSING,
        "phone not given on the registration",
    )
    rec = MatchRecord("P9", "Robert", "Smith", date(1980, 3, 4))
    assert evidence(registration(), rec, Field.EMAIL) == (Level.MISSING, "email not on the record")


def test_contact_levels() -> None:
    assert evidence(registration(phone="555-123-4568"), ROBERT, Field.PHONE) == (
        Level.CLOSE,
        "differs by one digit",
    )
    assert evidence(registration(phone="999-888-7777"), ROBERT, Field.PHONE) == (
        Level.DISAGREE,
        "different phone (contact details change)",
    )
    assert evidence(registration(email="robert.smith@gmail.com"), ROBERT, Field.EMAIL) == (
        Level.CLOSE,
        "same mailbox name, different domain",
    )
    assert evidence(registration(sex="F"), ROBERT, Field.SEX) == (Level.DISAGREE, "different sex")
    assert evidence(registration(postal_code="10001"), ROBERT, Field.POSTAL_CODE) == (
        Level.DISAGREE,
        "different ZIP code",
    )


def test_evidence_carries_both_values_and_the_weight() -> None:
    result = compare(registration(first_name="Bob", phone=""), ROBERT)
    first = next(e for e in result.evidence if e.field is Field.FIRST_NAME)
    assert (first.registration_value, first.record_value) == ("Bob", "Robert")
    assert first.weight == WEIGHTS[Field.FIRST_NAME][Level.NICKNAME]
    phone = next(e for e in result.evidence if e.field is Field.PHONE)
    assert (phone.registration_value, phone.record_value) == ("", "(555) 123-4567")
    assert result.score == pytest.approx(sum(e.weight for e in result.evidence), abs=0.01)


def test_exact_outweighs_every_other_level() -> None:
    for field, levels in WEIGHTS.items():
        assert all(
            w < levels[Level.EXACT] for level, w in levels.items() if level is not Level.EXACT
        )
        assert levels[Level.MISSING] == 0.0
        assert all(0 < m <= 1 and 0 < u <= 1 for m, u in M_U[field].values())


def test_a_stranger_born_the_same_day_scores_low() -> None:
    stranger = MatchRecord(
        "R9", "Ximena", "Okafor", ROBERT.date_of_birth, sex="F", phone="999-888-7777"
    )
    assert compare(stranger, ROBERT).score < MatchSettings().review_threshold
