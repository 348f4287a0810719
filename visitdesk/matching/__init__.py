"""Matching portal registrations to patient records: normalise, block, score, explain.

Pure Python (no Qt, no database): the desk and the portal hand it records and registrations as
``MatchRecord`` values and get back ranked ``Candidate``\\ s with per-field ``Evidence``.
"""

from visitdesk.matching.duplicates import (
    DuplicateKind,
    DuplicateWarning,
    duplicate_pairs,
    looks_like_duplicate,
)
from visitdesk.matching.index import CandidateIndex
from visitdesk.matching.records import MatchRecord, Person, normalize_record
from visitdesk.matching.score import (
    Band,
    Candidate,
    Comparison,
    Evidence,
    Field,
    Level,
    auto_connect,
    compare,
    namesakes,
    rank,
)
from visitdesk.matching.settings import MatchSettings

__all__ = [
    "Band",
    "Candidate",
    "CandidateIndex",
    "Comparison",
    "DuplicateKind",
    "DuplicateWarning",
    "Evidence",
    "Field",
    "Level",
    "MatchRecord",
    "MatchSettings",
    "Person",
    "auto_connect",
    "compare",
    "duplicate_pairs",
    "looks_like_duplicate",
    "namesakes",
    "normalize_record",
    "rank",
]
