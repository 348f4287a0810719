"""Finding a patient fast among 100,000 local records: by name, date of birth, MRN or phone.

What the desk types is read into a `PatientQuery`:

- "lee, an" -> last name starting with "lee" and first name starting with "an";
  "lee an" also means that, and is tried as a last name "lee an" (de la Cruz, van Dyke) too;
- "01/02/1980" (also 1/2/1980, 01-02-1980, 1980-01-02) -> that date of birth; it may follow a name:
  "lee, a 01/02/1980";
- "1000123" -> MRN starting with that, or phone digits starting with that (area code first or
  the seven-digit local number); "(413) 555-01" and "413.555.01" are phone digits too.

Case, accents (Latin letters), spaces, hyphens, apostrophes and periods in names are ignored.
Every search is an indexed range scan: names and phone digits are kept in `patient_search_keys`,
normalised by SQLite triggers on `patients`, so whoever writes patients (the change feed, the CSV
import) keeps the keys current without knowing about them. The key expressions are generated from
`FOLD`; `search_key` applies the same mapping to the typed text, so both sides always agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Select, String, and_, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from visitdesk.desktop.models.schema import Base, Patient

#: Most patients one search returns; the desk asks for more letters rather than scrolling.
SEARCH_LIMIT = 50
#: Shortest typed name or number that starts a search (one letter matches a twentieth of a city).
MIN_KEY_LENGTH = 2
#: Shortest run of digits searched as a phone number (fewer only match MRNs).
MIN_PHONE_DIGITS = 3


#: Accented letters of names, beyond Latin-1, that are folded: Polish, Czech, Slovak, Croatian,
#: Hungarian, Romanian and Turkish names. SQLite's parser limits how many replace() calls one
#: statement may nest, so the list is what clinics meet, not all of Latin Extended-A.
_EXTENDED = "ĄąĆćČčĎďĘęĚěĞğİŃńŇňŐőŘřŚśŞşŠšŢţŤťŮůŰűŹźŻżŽž"


def _fold_map() -> dict[str, str]:
    """Accented Latin letters -> their lower-case ASCII base letter."""
    folded: dict[str, str] = {}
    for char in [chr(code) for code in range(0xC0, 0x100)] + list(_EXTENDED):
        base = unicodedata.normalize("NFKD", char)[:1]
        if base.isascii() and base.isalpha() and base != char:
            folded[char] = base.lower()
    folded["\u00df"] = "ss"
    return folded


#: Characters a name key maps to something else (accents to ASCII letters).
FOLD = _fold_map()
#: Characters dropped from name keys: "O'Brien" = "OBrien", "Smith-Jones" = "Smith Jones".
NAME_PUNCTUATION = (" ", "-", "'", ".", "\u2019")
#: Characters dropped from phone numbers before keying them.
PHONE_PUNCTUATION = (" ", "(", ")", "-", ".", "+", "/")

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


class PatientSearchKey(Base):
    """Normalised search keys of one patient (`patients.id`); written only by the triggers."""

    __tablename__ = "patient_search_keys"
    __table_args__ = (Index(None, "last_key", "first_key"),)

    patient_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    last_key: Mapped[str] = mapped_column(String(100))
    first_key: Mapped[str] = mapped_column(String(100))
    #: The number without spaces, brackets, dashes, dots, "+" or "/". Not indexed: people type any
    #: part of a number (with or without the area code), and scanning these short rows is quick.
    phone_digits: Mapped[str] = mapped_column(String(32))


# --------------------------------------------------------------------------- keys


def search_key(text: str) -> str:
    """A name as the triggers key it: accents folded, ASCII lower case, punctuation dropped."""
    key = "".join(FOLD.get(char, char) for char in text).translate(_ASCII_LOWER)
    for mark in NAME_PUNCTUATION:
        key = key.replace(mark, "")
    return key


def phone_key(text: str) -> str:
    """The digits of a typed phone number to look for (a leading US country code "1" dropped:
    the stored number may or may not have it)."""
    digits = "".join(char for char in text if char.isascii() and char.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _strip(expression: str, marks: tuple[str, ...]) -> str:
    for mark in marks:
        expression = f"replace({expression}, {_sql_string(mark)}, '')"
    return expression


# The trigger and key SQL below is assembled from this module's constants only (FOLD and the
# punctuation lists), never from data, hence the S608 waivers.

#: Accent replacements per UPDATE: SQLite's parser refuses expressions nested much deeper.
_FOLD_CHUNK = 24
_KEY_COLUMNS = "(patient_id, last_key, first_key, phone_digits)"
_NON_ASCII = "GLOB '*[^ -~]*'"


def _name_sql(column: str) -> str:
    """Lower case (ASCII) and punctuation dropped; applied to a key again, it changes nothing."""
    return _strip(f"lower({column})", NAME_PUNCTUATION)


def _insert_keys(source: str, keyed: bool) -> str:
    """INSERT of the keys of `source` ("new" in a trigger, or all "patients"); an existing row
    of the same patient is replaced.

    With `keyed`, names are keyed at once (right for plain ASCII names); otherwise they are
    copied raw for `_fold_updates` to finish. Phone numbers keep a leading country code: phone
    searches look for the typed digits anywhere in the number.
    """
    prefix = "new." if source == "new" else ""
    last, first = f"{prefix}last_name", f"{prefix}first_name"
    if keyed:
        last, first = _name_sql(last), _name_sql(first)
    digits = _strip(f"{prefix}phone", PHONE_PUNCTUATION)
    values = f"{prefix}id, {last}, {first}, {digits}"
    # An upsert, not INSERT OR REPLACE: inside a trigger, the conflict policy of the statement
    # that fired it (the feed's and the import's upserts) would override the trigger's own.
    upsert = (
        " ON CONFLICT (patient_id) DO UPDATE SET last_key = excluded.last_key, "
        "first_key = excluded.first_key, phone_digits = excluded.phone_digits"
    )
    if source == "new":
        return f"INSERT INTO patient_search_keys {_KEY_COLUMNS} VALUES ({values}){upsert}"  # noqa: S608
    return (
        f"INSERT INTO patient_search_keys {_KEY_COLUMNS} "  # noqa: S608
        f"SELECT {values} FROM patients WHERE true{upsert}"
    )


def _fold_updates(where: str) -> list[str]:
    """UPDATEs that fold the accents of raw names in the rows selected by `where`, then key them
    (a few statements, because one statement cannot nest a hundred replace() calls)."""
    folds = list(FOLD.items())
    statements = []
    for start in range(0, len(folds), _FOLD_CHUNK):
        chunk = folds[start : start + _FOLD_CHUNK]

        def fold(column: str, chunk: list[tuple[str, str]] = chunk) -> str:
            for char, base in chunk:
                column = f"replace({column}, {_sql_string(char)}, {_sql_string(base)})"
            return column

        statements.append(
            f"UPDATE patient_search_keys SET last_key = {fold('last_key')}, "  # noqa: S608
            f"first_key = {fold('first_key')} WHERE {where}"
        )
    statements.append(
        f"UPDATE patient_search_keys SET last_key = {_name_sql('last_key')}, "  # noqa: S608
        f"first_key = {_name_sql('first_key')} WHERE {where}"
    )
    return statements


def trigger_ddl() -> list[str]:
    """CREATE TRIGGER statements that keep `patient_search_keys` in step with `patients`.

    Names in plain ASCII (nearly all) skip the accent folding: a second pair of triggers handles
    names with other characters. Their WHEN conditions exclude each other, so the order SQLite
    fires them in does not matter. An update fires only when a keyed column really changed (the
    feed and the import rewrite whole rows).
    """
    non_ascii = f"(new.last_name {_NON_ASCII} OR new.first_name {_NON_ASCII})"
    changed = (
        "(old.last_name IS NOT new.last_name OR old.first_name IS NOT new.first_name "
        "OR old.phone IS NOT new.phone)"
    )
    plain = f"{_insert_keys('new', keyed=True)};"
    accented = " ".join(
        f"{statement};"
        for statement in [_insert_keys("new", keyed=False), *_fold_updates("patient_id = new.id")]
    )
    columns = "last_name, first_name, phone"
    return [
        "CREATE TRIGGER patient_search_keys_insert AFTER INSERT ON patients "
        f"WHEN NOT {non_ascii} BEGIN {plain} END",
        "CREATE TRIGGER patient_search_keys_insert_accented AFTER INSERT ON patients "
        f"WHEN {non_ascii} BEGIN {accented} END",
        f"CREATE TRIGGER patient_search_keys_update AFTER UPDATE OF {columns} ON patients "
        f"WHEN {changed} AND NOT {non_ascii} BEGIN {plain} END",
        f"CREATE TRIGGER patient_search_keys_update_accented AFTER UPDATE OF {columns} "
        f"ON patients WHEN {changed} AND {non_ascii} BEGIN {accented} END",
    ]


#: Names of the triggers `trigger_ddl` creates.
TRIGGERS = (
    "patient_search_keys_insert",
    "patient_search_keys_insert_accented",
    "patient_search_keys_update",
    "patient_search_keys_update_accented",
)


def rebuild_keys_sql() -> list[str]:
    """Statements that key every existing patient (for the migration introducing the table)."""
    return [
        "DELETE FROM patient_search_keys",
        _insert_keys("patients", keyed=False),
        *_fold_updates(f"last_key {_NON_ASCII} OR first_key {_NON_ASCII}")[:-1],
        f"UPDATE patient_search_keys SET last_key = {_name_sql('last_key')}, "  # noqa: S608
        f"first_key = {_name_sql('first_key')}",
    ]


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class PatientQuery:
    """What was typed, read as search criteria; `empty` when there is nothing to search yet."""

    last: str = ""
    first: str = ""
    #: The whole name text as one last name (only when it had a space and no comma).
    whole_last: str = ""
    date_of_birth: date | None = None
    #: MRN prefix, as typed (MRNs keep their case).
    mrn: str = ""
    phone: str = ""

    @property
    def empty(self) -> bool:
        return not (self.last or self.whole_last or self.date_of_birth or self.mrn or self.phone)


@dataclass(frozen=True)
class PatientHit:
    id: int
    #: None while the portal has not yet reported the patient (imported here, not synced).
    portal_id: str | None
    mrn: str
    first_name: str
    middle_name: str
    last_name: str
    date_of_birth: date
    phone: str
    email: str

    @property
    def display_name(self) -> str:
        """ "Last, First Middle", as the desk reads names."""
        given = " ".join(part for part in (self.first_name, self.middle_name) if part)
        return f"{self.last_name}, {given}"

    @property
    def full_name(self) -> str:
        """ "First Last", as the patient writes it."""
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class SearchResult:
    query: PatientQuery
    hits: list[PatientHit]
    #: More patients matched than `hits` holds; the desk should type more.
    more: bool


_DATE = re.compile(
    r"(?<![\d/.-])(?:(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2}))(?![\d/.-])"
)
_PHONE_CHARS = re.compile(r"^[\d\s().+/-]+$")
_MRN = re.compile(r"^[A-Za-z0-9._-]+$")


def _parse_date(match: re.Match[str]) -> date | None:
    month, day, year, iso_year, iso_month, iso_day = match.groups()
    try:
        if year is not None:
            return date(int(year), int(month), int(day))
        return date(int(iso_year), int(iso_month), int(iso_day))
    except ValueError:
        return None


def parse_query(text: str) -> PatientQuery:
    """Read typed text as search criteria (see the module docstring)."""
    text = text.strip()
    born: date | None = None
    match = _DATE.search(text)
    if match is not None and (born := _parse_date(match)) is not None:
        text = (text[: match.start()] + " " + text[match.end() :]).strip(" ,")
    if not text:
        return PatientQuery(date_of_birth=born)
    if _PHONE_CHARS.match(text) and any(c.isdigit() for c in text):
        digits = phone_key(text)
        compact = "".join(text.split())
        return PatientQuery(
            date_of_birth=born,
            mrn=compact if _MRN.match(compact) else "",
            phone=digits if len(digits) >= MIN_PHONE_DIGITS else "",
        )
    if "," in text:
        last, _, first = text.partition(",")
        return PatientQuery(last=search_key(last), first=search_key(first), date_of_birth=born)
    words = text.split()
    mrn = text if len(words) == 1 and _MRN.match(text) and any(c.isdigit() for c in text) else ""
    if len(words) > 1:
        return PatientQuery(
            last=search_key(words[0]),
            first=search_key(" ".join(words[1:])),
            whole_last=search_key(text),
            date_of_birth=born,
        )
    return PatientQuery(last=search_key(text), date_of_birth=born, mrn=mrn)


def _upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (for range scans:
    `column >= prefix AND column < _upper_bound(prefix)` uses a plain index, unlike LIKE)."""
    return prefix + "\U0010ffff"


def _prefix(column: Any, prefix: str) -> Any:
    return and_(column >= prefix, column < _upper_bound(prefix))


def _base() -> Select[*tuple[Any, ...]]:
    return select(
        Patient.id,
        Patient.portal_id,
        Patient.mrn,
        Patient.first_name,
        Patient.middle_name,
        Patient.last_name,
        Patient.date_of_birth,
        Patient.phone,
        Patient.email,
    )


def _name_query(last: str, first: str, born: date | None, limit: int) -> Select[*tuple[Any, ...]]:
    keys = PatientSearchKey
    query = (
        _base()
        .join(keys, keys.patient_id == Patient.id)
        .where(_prefix(keys.last_key, last))
        .order_by(keys.last_key, keys.first_key, Patient.id)
        .limit(limit)
    )
    if first:
        query = query.where(_prefix(keys.first_key, first))
    if born is not None:
        query = query.where(Patient.date_of_birth == born)
    return query


def _queries(query: PatientQuery, limit: int) -> list[Select[*tuple[Any, ...]]]:
    born = query.date_of_birth
    queries: list[Select[*tuple[Any, ...]]] = []
    if query.last and (len(query.last) >= MIN_KEY_LENGTH or query.first or born is not None):
        queries.append(_name_query(query.last, query.first, born, limit))
    if len(query.whole_last) >= MIN_KEY_LENGTH:
        queries.append(_name_query(query.whole_last, "", born, limit))
    if query.mrn:
        variants = {query.mrn, query.mrn.upper()}
        mrn_query = (
            _base()
            .where(or_(*(_prefix(Patient.mrn, v) for v in variants)))
            .order_by(Patient.mrn)
            .limit(limit)
        )
        if born is not None:
            mrn_query = mrn_query.where(Patient.date_of_birth == born)
        queries.append(mrn_query)
    if query.phone:
        keys = PatientSearchKey
        phone_query = (
            _base()
            .join(keys, keys.patient_id == Patient.id)
            .where(func.instr(keys.phone_digits, query.phone) > 0)
            # No ORDER BY: walking the name index would visit every row when few match; the
            # hits are sorted by name below.
            .limit(limit)
        )
        if born is not None:
            phone_query = phone_query.where(Patient.date_of_birth == born)
        queries.append(phone_query)
    if born is not None and not (query.last or query.whole_last or query.mrn or query.phone):
        queries.append(
            _base()
            .where(Patient.date_of_birth == born)
            .order_by(Patient.last_name, Patient.first_name, Patient.id)
            .limit(limit)
        )
    return queries


def search_patients(
    session: Session, text: str | PatientQuery, limit: int = SEARCH_LIMIT
) -> SearchResult:
    """Up to `limit` patients matching what was typed, sorted by name then date of birth."""
    query = text if isinstance(text, PatientQuery) else parse_query(text)
    found: dict[int, PatientHit] = {}
    for statement in _queries(query, limit + 1):
        for row in session.execute(statement):
            found.setdefault(row.id, PatientHit(*row))
    hits = sorted(
        found.values(),
        key=lambda h: (search_key(h.last_name), search_key(h.first_name), h.date_of_birth, h.id),
    )
    return SearchResult(query=query, hits=hits[:limit], more=len(hits) > limit)


def patient_by_portal_id(session: Session, portal_id: str) -> PatientHit | None:
    row = session.execute(_base().where(Patient.portal_id == portal_id)).first()
    return None if row is None else PatientHit(*row)
