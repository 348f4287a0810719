"""Normalisation of names, nicknames, phones, emails and dates."""

from __future__ import annotations

from datetime import date

import pytest

from visitdesk.matching.normalize import (
    NICKNAMES,
    compact,
    family_name,
    fold,
    given_name,
    name_suffix,
    nickname_roots,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_sex,
    parse_date,
    swap_day_month,
)
from visitdesk.matching.phonetic import phonetic_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  JOSÉ   García ", "jose garcia"),
        ("O'Brien", "obrien"),
        ("O\u2019Brien", "obrien"),
        ("Smith-Jones", "smith jones"),
        ("Zoë", "zoe"),
        ("Søren Łukasz", "soren lukasz"),
        ("Straße", "strasse"),
        ("Robert Smith Jr.", "robert smith"),
        ("John Doe III", "john doe"),
        ("Jr", "jr"),
        ("de la Cruz", "de la cruz"),
        ("", ""),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_compact_joins_spellings_of_one_name() -> None:
    assert compact("Mc Donald") == compact("McDonald") == compact("MC-DONALD") == "mcdonald"


def test_suffix_is_kept_apart() -> None:
    assert name_suffix("Smith Jr.") == "jr"
    assert name_suffix("Smith") == ""
    assert name_suffix("Jr") == ""


def test_fold_keeps_other_scripts() -> None:
    assert fold("Ольга") == "ольга"


def test_compound_surname_parts() -> None:
    name = family_name("Smith-Jones")
    assert name.compact == "smithjones"
    assert name.parts == {"smith", "jones"}
    assert family_name("de la Cruz").parts == {"cruz"}
    assert phonetic_key("jones") in name.phonetics


def test_nickname_list_is_substantial_and_loaded() -> None:
    canonical = {name for name, roots in NICKNAMES.items() if name in roots}
    assert len(canonical) >= 150
    assert "robert" in nickname_roots("bob")
    assert "margaret" in nickname_roots("peggy")
    assert "william" in nickname_roots("bill")
    assert "francisco" in nickname_roots("paco")
    assert {"albert", "robert", "herbert"} <= nickname_roots("bert")
    assert nickname_roots("zzyzx") == frozenset()


def test_given_name_roots_and_initials() -> None:
    bob = given_name("Bob")
    assert "robert" in bob.roots
    assert bob.initials == {"b", "r"}
    assert given_name("Robert").roots == {"robert"}
    assert given_name("Zzyzx").roots == frozenset()
    assert given_name("Zzyzx").initials == {"z"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(555) 123-4567", "5551234567"),
        ("+1 555 123 4567", "5551234567"),
        ("1-555-123-4567", "5551234567"),
        ("555.123.4567 ext. 89", "5551234567"),
        ("555-123-4567 x12", "5551234567"),
        ("000-000-0000", ""),
        ("12345", ""),
        ("", ""),
        ("+44 20 7946 0958", "442079460958"),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_normalize_email() -> None:
    assert normalize_email("  Bob.Smith@Example.COM ") == "bob.smith@example.com"
    assert normalize_email("not an address") == ""
    assert normalize_email("@example.com") == ""


def test_postal_code_and_sex() -> None:
    assert normalize_postal_code("12345-6789") == "12345"
    assert normalize_postal_code(" 02134 ") == "02134"
    assert normalize_postal_code("K1A 0B1") == "k1a0b1"
    assert normalize_sex("female") == "F"
    assert normalize_sex("U") == ""
    assert normalize_sex("") == ""


def test_dates() -> None:
    assert parse_date("1980-03-04") == date(1980, 3, 4)
    assert parse_date("03/04/1980") == date(1980, 3, 4)
    assert parse_date("02/30/1980") is None
    assert parse_date(None) is None
    assert swap_day_month(date(1980, 3, 4)) == date(1980, 4, 3)
    assert swap_day_month(date(1980, 3, 13)) is None
    assert swap_day_month(date(1980, 5, 5)) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("smith", "smyth"),
        ("catherine", "kathryn"),
        ("hernandez", "hernandes"),
        ("mcdonald", "macdonald"),
        ("philips", "fillips"),
        ("castillo", "castilo"),
    ],
)
def test_phonetic_key_hears_alike(a: str, b: str) -> None:
    assert phonetic_key(a) == phonetic_key(b) != ""


def test_phonetic_key_tells_apart() -> None:
    assert phonetic_key("smith") != phonetic_key("jones")
    assert phonetic_key("") == ""
    assert len(phonetic_key("abcdefghijklmnopqrstuvwxyz")) <= 6
