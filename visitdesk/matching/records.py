"""The identity fields the matcher compares, as given and as normalised."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from visitdesk.matching.normalize import (
    FamilyName,
    GivenName,
    family_name,
    given_name,
    name_suffix,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_sex,
)


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A patient record, or a registration, as the matcher sees it.

    For a registration ``record_id`` is the registration's id. Empty strings and ``None`` mean
    "not given"; sex is "F", "M", "X" or "U"/"" (unknown).
    """

    record_id: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    middle_name: str = ""
    sex: str = ""
    phone: str = ""
    email: str = ""
    postal_code: str = ""


class Person(NamedTuple):
    """A record's fields normalised once; the index keeps one of these per record.

    A tuple rather than a dataclass to stay small at a million records; the name parts are shared
    between all records spelling a name alike (see ``given_name``), and so are dates.
    """

    given: GivenName
    family: FamilyName
    middle: str
    #: "jr", "iii"... from either name field, or "".
    suffix: str
    dob: date | None
    sex: str
    phone: str
    email: str
    postal: str


@lru_cache(maxsize=1 << 16)
def _shared_date(value: date) -> date:
    return value


def normalize_record(record: MatchRecord) -> Person:
    """Normalise every identity field of a record or registration.

    Repeated values (names, dates, middle names, ZIP codes) come back as shared objects, which is
    most of what keeps a million-record index small.
    """
    suffix = name_suffix(record.last_name) or name_suffix(record.first_name)
    middle = normalize_name(record.middle_name)
    return Person(
        given=given_name(record.first_name),
        family=family_name(record.last_name),
        middle=sys.intern(middle),
        suffix=sys.intern(suffix),
        dob=_shared_date(record.date_of_birth) if record.date_of_birth else None,
        sex=normalize_sex(record.sex),
        phone=normalize_phone(record.phone),
        email=normalize_email(record.email),
        postal=sys.intern(normalize_postal_code(record.postal_code)),
    )
