"""Searching the manager's list of linked accounts: every word typed must be the start of the
account holder's first or last name, email or username, or of the linked patient's first or last
name or MRN.

"Starts with", not "contains": a word in the middle of a name cannot be sought in an index, and
reading every account and patient of a practice took 2 s at 100,000 accounts. Each searched
column has an index of its lower-cased value (`models.LINK_SEARCH_INDEXES`).

Two ways to run a search, chosen by how common its words are (counted in those indexes, up to
`BROAD`):

- a word with few matches drives it: its accounts and patients are sought in the indexes, their
  links reached by account or patient id, and only those links are checked against the other
  words and put in name order;
- when every word is very common (`BROAD` matches or more: a single letter in a large
  practice), the accounts are read in name order as without a search, each kept if a link of it
  matches; such words fill a page after a short stretch, where collecting all their matches
  would not.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, func, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session

from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount

#: Words searched at most (the rest are ignored).
MAX_TERMS = 4
#: A word with at least this many matching accounts (or patients) is "very common". Counting up
#: to it reads that much of an index (a few ms); a common word below it ("jo") still drives.
BROAD = 20_000
#: Above every character a name can hold: `lower(x) < term + _TOP` keeps what starts with term.
_TOP = "\U0010ffff"

Searchable = InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
_ACCOUNT_FIELDS: tuple[Searchable, ...] = (
    PatientAccount.first_name,
    PatientAccount.last_name,
    PatientAccount.email,
    PatientAccount.username,
)
_PATIENT_FIELDS: tuple[Searchable, ...] = (Patient.first_name, Patient.last_name, Patient.mrn)


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def starts_with(column: Searchable, term: str, dialect: str) -> ColumnElement[bool]:
    """`lower(column)` starts with `term`, in the form the dialect seeks in the column's index:
    PostgreSQL's text_pattern_ops serves LIKE 'term%' whatever the collation; SQLite's index of
    lower() is in binary order, where a range holds exactly the same rows (and its LIKE cannot
    use an index on an expression)."""
    lowered = func.lower(column)
    if dialect == "sqlite":
        return and_(lowered >= term, lowered < term + _TOP)
    return lowered.like(f"{escape_like(term)}%", escape="\\")


@dataclass(frozen=True)
class LinkSearch:
    practice_id: str
    terms: tuple[str, ...]
    dialect: str

    @classmethod
    def of(cls, practice_id: str, text: str, dialect: str) -> LinkSearch:
        return cls(practice_id, tuple(text.casefold().split()[:MAX_TERMS]), dialect)

    def _account_match(self, term: str) -> ColumnElement[bool]:
        return or_(*(starts_with(f, term, self.dialect) for f in _ACCOUNT_FIELDS))

    def _patient_match(self, term: str) -> ColumnElement[bool]:
        # The practice inside each branch, so each is one seek in (practice_id, lower(field)).
        here = Patient.practice_id == self.practice_id
        return or_(*(and_(here, starts_with(f, term, self.dialect)) for f in _PATIENT_FIELDS))

    def row_conditions(self, found_by: str | None = None) -> list[ColumnElement[bool]]:
        """Every word (but `found_by`, whose links these are) matches the link's account or
        patient (for a query joining both)."""
        return [
            or_(self._account_match(term), self._patient_match(term))
            for term in self.terms
            if term != found_by
        ]

    def links_of(self, term: str) -> CompoundSelect:
        """Ids of the practice's links whose account or patient matches `term`, through the
        indexes: (practice_id, account_id) for the accounts, patient_id for the patients (who
        are this practice's already)."""
        accounts = select(PatientAccount.id).where(self._account_match(term))
        patients = select(Patient.id).where(self._patient_match(term))
        return union_all(
            select(AccountLink.id).where(
                AccountLink.practice_id == self.practice_id, AccountLink.account_id.in_(accounts)
            ),
            select(AccountLink.id).where(AccountLink.patient_id.in_(patients)),
        )

    def rarest(self, session: Session) -> str | None:
        """The word with the fewest matches, or None when every word is common."""
        best: tuple[int, str] | None = None
        for term in self.terms:
            count = max(
                _capped_count(session, select(PatientAccount.id).where(self._account_match(term))),
                _capped_count(session, select(Patient.id).where(self._patient_match(term))),
            )
            if count < BROAD and (best is None or count < best[0]):
                best = (count, term)
        return None if best is None else best[1]


def _capped_count(session: Session, query: Select[str]) -> int:
    """How many rows `query` has, counting no further than BROAD (an index range read)."""
    limited = query.limit(BROAD).subquery()
    return session.scalar(select(func.count()).select_from(limited)) or 0
