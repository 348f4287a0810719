"""Normalisation of the identifying fields a registration and a patient record share.

Every function here is pure and idempotent: ``f(f(x)) == f(x)`` (checked by property tests), so a
value may be normalised again without drifting. Names become lower-case letters and single spaces
(accents, apostrophes and hyphens folded away), phones become the ten-or-so digits without the US
country code, emails are trimmed and case-folded, dates are ``date`` objects.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from visitdesk.matching.phonetic import phonetic_key

#: Generational suffixes removed from names (the last token of either name field).
SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "2nd", "3rd", "4th"})
#: Surname particles: kept in the full surname, left out of the token set, so that
#: "de la Cruz" and "Cruz" share a token but "de" alone never matches anything.
PARTICLES = frozenset(
    {
        "de",
        "del",
        "la",
        "las",
        "los",
        "y",
        "da",
        "das",
        "do",
        "dos",
        "di",
        "van",
        "von",
        "der",
        "den",
        "le",
        "du",
        "st",
        "ben",
        "bin",
        "al",
        "el",
    }
)

# Letters NFKD does not decompose into a base letter and a combining mark.
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "\u0131": "i",
        "ħ": "h",
    }
)
# Apostrophes vanish (O'Brien -> obrien); other joiners separate tokens (Smith-Jones -> smith jones).
_APOSTROPHES = str.maketrans(dict.fromkeys("'`\u2019\u2018\u00b4\u02bc\u02b9", ""))


def fold(text: str) -> str:
    """Case-fold and strip accents; keeps letters, digits and spaces, anything else becomes a space.

    Iterates to a fixed point because case folding and compatibility decomposition do not commute
    for a few code points; for ordinary names one pass suffices.
    """
    previous = None
    while text != previous:
        previous = text
        decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
        text = "".join(
            ch if ch.isalnum() else " "
            for ch in decomposed.translate(_APOSTROPHES)
            if not unicodedata.combining(ch)
        )
        text = " ".join(text.split())
    return text


def name_tokens(text: str) -> tuple[str, ...]:
    """The words of a name: folded, digits dropped, trailing generational suffixes removed."""
    tokens = [t for t in fold(text).split() if t in SUFFIXES or t.isalpha()]
    while len(tokens) > 1 and tokens[-1] in SUFFIXES:
        tokens.pop()
    return tuple(tokens)


def name_suffix(text: str) -> str:
    """The generational suffix a name field ends with ("jr", "iii"), or ""."""
    tokens = [t for t in fold(text).split() if t in SUFFIXES or t.isalpha()]
    return tokens[-1] if len(tokens) > 1 and tokens[-1] in SUFFIXES else ""


def normalize_name(text: str) -> str:
    """A name as single-spaced lower-case words: "  María-José  O'Brien Jr. " -> "maria jose obrien"."""
    return " ".join(name_tokens(text))


def compact(text: str) -> str:
    """A normalised name without spaces, so "Mc Donald", "McDonald" and "Mc-Donald" are one value."""
    return "".join(name_tokens(text))


# --------------------------------------------------------------------------- nicknames


def _load_nicknames() -> dict[str, frozenset[str]]:
    """Map every listed name (canonical or short form) to the canonical names it may stand for."""
    text = resources.files("visitdesk.matching").joinpath("nicknames.txt").read_text("utf-8")
    roots: dict[str, set[str]] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, _, tail = line.partition(":")
        canonical = compact(head)
        roots.setdefault(canonical, set()).add(canonical)
        for short in tail.split(","):
            if compact(short):
                roots.setdefault(compact(short), set()).add(canonical)
    return {name: frozenset(found) for name, found in roots.items()}


NICKNAMES: dict[str, frozenset[str]] = _load_nicknames()


def nickname_roots(token: str) -> frozenset[str]:
    """The canonical names a normalised given name may be short for; itself if canonical; empty if
    the name is not in the list."""
    return NICKNAMES.get(token, frozenset())


# --------------------------------------------------------------------------- names as stored


class GivenName(NamedTuple):
    """A first (given) name, normalised once and shared by every record that spells it alike."""

    display: str
    compact: str
    tokens: tuple[str, ...]
    #: Canonical names of every token that is in the nickname list ("bob" -> {"robert"}).
    roots: frozenset[str]
    phonetic: str
    #: First letters to block on: of the name itself and of each canonical name it may stand for.
    initials: frozenset[str]


class FamilyName(NamedTuple):
    """A surname; compound surnames keep their parts so that one part alone can agree partially."""

    display: str
    compact: str
    #: Significant parts (particles such as "de", "van" left out): "smith-jones" -> {smith, jones}.
    parts: frozenset[str]
    #: Phonetic keys of the whole surname and of each part, for blocking.
    phonetics: frozenset[str]
    phonetic: str


@lru_cache(maxsize=1 << 18)
def given_name(text: str) -> GivenName:
    tokens = name_tokens(text)
    joined = "".join(tokens)
    roots = frozenset(r for t in (*tokens, joined) for r in nickname_roots(t))
    initials = frozenset({joined[0]} | {r[0] for r in roots} if joined else set())
    return GivenName(text.strip(), joined, tokens, roots, phonetic_key(joined), initials)


@lru_cache(maxsize=1 << 18)
def family_name(text: str) -> FamilyName:
    tokens = name_tokens(text)
    joined = "".join(tokens)
    parts = frozenset(t for t in tokens if t not in PARTICLES) or frozenset(tokens)
    phonetics = frozenset(k for k in (phonetic_key(joined), *map(phonetic_key, parts)) if k)
    return FamilyName(text.strip(), joined, parts, phonetics, phonetic_key(joined))


# --------------------------------------------------------------------------- contact fields

_PHONE_EXTENSION = re.compile(r"(?:x|ext|extension|#)", re.IGNORECASE)


def normalize_phone(text: str) -> str:
    """Digits only, without a leading US country code and any extension; "" when not a usable number
    (fewer than 7 digits, or one digit repeated, as in placeholder 000-000-0000)."""
    number = _PHONE_EXTENSION.split(unicodedata.normalize("NFKD", text), maxsplit=1)[0]
    digits = "".join(str(unicodedata.decimal(ch)) for ch in number if ch.isdecimal())
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) < 7 or len(set(digits)) == 1:
        return ""
    return digits


def normalize_email(text: str) -> str:
    """Trimmed and case-folded; "" unless it looks like an address (something@something)."""
    email = "".join(text.split()).casefold()
    local, at, domain = email.partition("@")
    return email if at and local and domain else ""


def normalize_postal_code(text: str) -> str:
    """The five-digit US ZIP code (ZIP+4 reduced to its first five digits); other formats folded."""
    digits = "".join(ch for ch in text if ch in "0123456789")
    if len(digits) in (5, 9) and len(digits) == len("".join(text.split()).replace("-", "")):
        return digits[:5]
    return "".join(fold(text).split())


def normalize_sex(text: str) -> str:
    """Sex as "F", "M" or "X"; "" when unknown or not given."""
    value = text.strip().upper()[:1]
    return value if value in ("F", "M", "X") else ""


# --------------------------------------------------------------------------- dates


def parse_date(value: date | str | None) -> date | None:
    """A date of birth from a ``date``, ISO "YYYY-MM-DD" or US "MM/DD/YYYY"; None if unusable."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    try:
        if "/" in text:
            month, day, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def swap_day_month(value: date) -> date | None:
    """The date with day and month exchanged (2001-03-04 -> 2001-04-03), or None when that is not
    a different valid date (day above 12, or day equal to month)."""
    if value.day > 12 or value.day == value.month:
        return None
    return date(value.year, value.day, value.month)
