"""Ranking the registration queue against the local patient records; no Qt here.

The candidate index is built once from the local store (on a worker thread: it takes a few
seconds at a million records) and then kept current: after the change feed brought patients,
`refresh` re-indexes the records updated since the newest `updated_at` it has seen and adds or
drops records whose portal id appeared or disappeared. Only records the portal knows (with a portal
id) are indexed: a match names the portal's record.

Every method may be called from any worker thread; one lock guards the index.
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import func, select

from visitdesk.desktop.models import registrations
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.desktop.models.schema import Patient
from visitdesk.matching import (
    Candidate,
    CandidateIndex,
    DuplicateWarning,
    MatchRecord,
    MatchSettings,
    compare,
    looks_like_duplicate,
    rank,
)
from visitdesk.matching.score import band

log = logging.getLogger(__name__)

#: Candidates shown per registration.
TOP = 5


@dataclass(frozen=True)
class RecordSummary:
    """What the desk shows of a candidate record besides the compared fields."""

    portal_id: str
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: Any

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"


@dataclass(frozen=True)
class CandidateView:
    candidate: Candidate
    record: RecordSummary
    #: True when staff found this record by searching (not ranked among the candidates).
    searched: bool = False

    @property
    def score(self) -> float:
        return self.candidate.score


@dataclass(frozen=True)
class Review:
    """Everything the desk needs to decide one registration."""

    registration: registrations.QueueRow
    candidates: list[CandidateView]
    #: Pairs of candidate records that look like one person, or share name and date of birth.
    duplicates: list[DuplicateWarning] = field(default_factory=list)
    #: MRNs of records sharing name and date of birth with a candidate, per candidate portal id.
    namesakes: dict[str, list[str]] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        """The duplicate and namesake warnings in words, naming records by MRN."""
        mrn = {view.record.portal_id: view.record.mrn for view in self.candidates}
        lines: list[str] = []
        seen: set[tuple[str, str]] = set()
        for warning in self.duplicates:
            pair = (warning.record_a, warning.record_b)
            seen.add(pair)
            lines.append(
                f"MRN {mrn.get(warning.record_a, '?')} and MRN {mrn.get(warning.record_b, '?')}: "
                f"{warning.message}"
            )
        for portal_id, others in self.namesakes.items():
            hidden = [m for m in others if m not in mrn.values()]
            if hidden:
                lines.append(
                    f"MRN {mrn.get(portal_id, '?')} shares name and date of birth with "
                    f"MRN {', '.join(hidden)}: check which one the patient is."
                )
        return lines


def _record(row: Any) -> MatchRecord:
    return MatchRecord(
        record_id=row.portal_id,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        middle_name=row.middle_name,
        sex=row.sex,
        phone=row.phone,
        email=row.email,
        postal_code=row.postal_code,
    )


def registration_record(row: registrations.QueueRow | registrations.Registration) -> MatchRecord:
    return MatchRecord(
        record_id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        phone=row.phone,
        email=row.email,
        postal_code=row.postal_code,
    )


_COLUMNS = (
    Patient.portal_id,
    Patient.mrn,
    Patient.first_name,
    Patient.middle_name,
    Patient.last_name,
    Patient.date_of_birth,
    Patient.sex,
    Patient.phone,
    Patient.email,
    Patient.postal_code,
    Patient.updated_at,
)


class MatchService:
    """The candidate index over the local store's patients, and reviews of registrations."""

    def __init__(self, store: Any, settings: MatchSettings | None = None) -> None:
        self._store = store
        self._settings = settings or MatchSettings()
        self._lock = threading.Lock()
        self._index: CandidateIndex | None = None
        self._watermark: datetime | None = None

    @property
    def built(self) -> bool:
        return self._index is not None

    def indexed_count(self) -> int:
        with self._lock:
            return 0 if self._index is None else len(self._index)

    # ---- building and keeping current

    def _build(self) -> CandidateIndex:
        index = CandidateIndex(self._settings)
        newest: datetime | None = None
        with self._store.read() as session:
            rows = session.execute(
                select(*_COLUMNS)
                .where(Patient.portal_id.is_not(None))
                .execution_options(yield_per=5000)
            )
            for row in rows:
                index.add(_record(row))
                if newest is None or row.updated_at > newest:
                    newest = row.updated_at
        self._watermark = newest
        log.info("Candidate index built (%d records)", len(index))
        # The index lives as long as the session: keep the collector from walking its million
        # small objects on every full collection (each walk would stall the GUI thread too).
        gc.freeze()
        return index

    def _ensure(self) -> CandidateIndex:
        if self._index is None:
            self._index = self._build()
        return self._index

    def build(self) -> int:
        """Build the index now if it is not built yet; returns the number of records."""
        with self._lock:
            return len(self._ensure())

    def refresh(self) -> int:
        """Catch up with patient changes since the last build or refresh; returns how many
        records were added, updated or removed. Builds the index when it is not built yet."""
        with self._lock:
            if self._index is None:
                self._index = self._build()
                return len(self._index)
            index = self._index
            touched = 0
            with self._store.read() as session:
                query = select(*_COLUMNS).where(Patient.portal_id.is_not(None))
                if self._watermark is not None:
                    query = query.where(Patient.updated_at >= self._watermark)
                for row in session.execute(query):
                    index.update(_record(row))
                    touched += 1
                    if self._watermark is None or row.updated_at > self._watermark:
                        self._watermark = row.updated_at
                # Portal ids that appeared (an imported record the portal now knows) or vanished.
                # Counting first keeps the common case cheap: during a large first sync this
                # runs once per page of the feed, and a full comparison each time would be
                # quadratic work for the whole sync.
                known = session.scalar(
                    select(func.count()).select_from(Patient).where(Patient.portal_id.is_not(None))
                )
                if known == len(index):
                    return touched
                present = set(
                    session.scalars(select(Patient.portal_id).where(Patient.portal_id.is_not(None)))
                )
                missing = present.difference(index)
                if missing:
                    for row in session.execute(
                        select(*_COLUMNS).where(Patient.portal_id.in_(list(missing)))
                    ):
                        index.update(_record(row))
                        touched += 1
                for gone in [rid for rid in index if rid not in present]:
                    index.remove(gone)
                    touched += 1
            return touched

    # ---- reviews

    def _summaries(self, session: Any, portal_ids: list[str]) -> dict[str, Any]:
        if not portal_ids:
            return {}
        rows = session.execute(select(*_COLUMNS).where(Patient.portal_id.in_(portal_ids)))
        return {row.portal_id: row for row in rows}

    def review(self, registration_id: str) -> Review:
        """The top candidates for one registration, with evidence and warnings."""
        with self._store.read() as session:
            row = registrations.get(session, registration_id)
            if row is None:
                raise NotFoundError("This registration is not on this workstation.")
            queued = _queue_row(row)
        with self._lock:
            index = self._ensure()
            ranked = rank(registration_record(queued), index, TOP, self._settings)
        with self._store.read() as session:
            namesake_ids = [n for c in ranked for n in c.namesakes]
            rows = self._summaries(session, [c.record_id for c in ranked] + namesake_ids)
        views = [
            CandidateView(c, _summary(rows[c.record_id])) for c in ranked if c.record_id in rows
        ]
        duplicates = [
            warning
            for a, b in combinations([rows[v.record.portal_id] for v in views], 2)
            if (warning := looks_like_duplicate(_record(a), _record(b), self._settings))
        ]
        namesakes = {
            c.record_id: [rows[n].mrn for n in c.namesakes if n in rows]
            for c in ranked
            if c.namesakes
        }
        return Review(queued, views, duplicates, namesakes)

    def compare_with(self, registration_id: str, portal_id: str) -> CandidateView:
        """One record staff found by searching, scored and explained like a candidate."""
        with self._store.read() as session:
            row = registrations.get(session, registration_id)
            if row is None:
                raise NotFoundError("This registration is not on this workstation.")
            patient = self._summaries(session, [portal_id]).get(portal_id)
            if patient is None:
                raise NotFoundError("This patient is not yet on the portal.")
            queued = _queue_row(row)
        comparison = compare(registration_record(queued), _record(patient), self._settings)
        candidate = Candidate(
            record_id=portal_id,
            score=comparison.score,
            band=band(comparison.score, self._settings),
            evidence=comparison.evidence,
        )
        return CandidateView(candidate, _summary(patient), searched=True)


def _summary(row: Any) -> RecordSummary:
    return RecordSummary(row.portal_id, row.mrn, row.first_name, row.last_name, row.date_of_birth)


def _queue_row(row: registrations.Registration) -> registrations.QueueRow:
    return registrations.QueueRow(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        email=row.email,
        phone=row.phone,
        postal_code=row.postal_code,
        created_at=row.created_at,
    )
