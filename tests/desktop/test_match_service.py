"""Ranking registrations against a real local store, and keeping the index current."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop.models.factories import patient_item
from tests.desktop.registration_items import registration_item
from visitdesk.desktop.match_service import MatchService
from visitdesk.desktop.models import LocalStore
from visitdesk.desktop.models.errors import NotFoundError
from visitdesk.matching import Band, Field, Level


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    opened = LocalStore.open(tmp_path / "store.sqlite3")
    try:
        yield opened
    finally:
        opened.close()


def _patients(store: LocalStore) -> None:
    store.apply_changes(
        [
            patient_item(
                1, "P-rob", "M1", "Robert", "Smith", phone="413-555-0101", postal_code="01060"
            ),
            patient_item(2, "P-ann", "M2", "Ann", "Lee", date_of_birth="1975-06-07"),
            patient_item(3, "P-rob2", "M3", "Roberta", "Smythe", date_of_birth="1980-02-01"),
        ],
        3,
    )


def test_review_ranks_with_evidence(store: LocalStore) -> None:
    _patients(store)
    store.apply_changes([registration_item(4, "R1", "Bob", "Smith", phone="(413) 555-0101")], 4)
    service = MatchService(store)
    review = service.review("R1")
    best = review.candidates[0]
    assert (best.record.portal_id, best.record.mrn) == ("P-rob", "M1")
    assert best.candidate.band is Band.STRONG
    first = next(e for e in best.candidate.evidence if e.field is Field.FIRST_NAME)
    assert first.level is Level.NICKNAME and "nickname of Robert" in first.reason
    assert (first.registration_value, first.record_value) == ("Bob", "Robert")
    assert "P-ann" not in [c.record.portal_id for c in review.candidates]  # not in any block
    assert review.warnings() == []
    with pytest.raises(NotFoundError):
        service.review("nope")


def test_index_follows_patient_changes(store: LocalStore) -> None:
    _patients(store)
    service = MatchService(store)
    assert service.build() == 3
    store.apply_changes([registration_item(4, "R1", "Maria", "Gomez", dob="1990-09-09")], 4)
    assert service.review("R1").candidates == []

    # A new record, a changed one, a deleted one: one refresh catches up with all three.
    store.apply_changes(
        [
            patient_item(
                5,
                "P-maria",
                "M5",
                "Maria",
                "Gomez",
                date_of_birth="1990-09-09",
                updated_at="2024-02-01T00:00:00Z",
            ),
            patient_item(
                6,
                "P-ann",
                "M2",
                "Ann",
                "Lee-Gomez",
                date_of_birth="1990-09-09",
                updated_at="2024-02-01T00:00:00Z",
            ),
        ],
        6,
    )
    from visitdesk.api.wire import ChangeItem

    store.apply_changes([ChangeItem(seq=7, kind="patient", op="delete", id="P-rob2", data={})], 7)
    assert service.refresh() >= 3
    assert service.indexed_count() == 3
    ids = [c.record.portal_id for c in service.review("R1").candidates]
    assert ids[0] == "P-maria" and "P-ann" in ids
    # Nothing changed since: a refresh re-reads only the newest records.
    assert service.refresh() <= 2


def test_duplicates_and_namesakes_are_flagged(store: LocalStore) -> None:
    store.apply_changes(
        [
            patient_item(1, "P-a", "M1", "Sam", "Twin", date_of_birth="2010-04-04"),
            patient_item(2, "P-b", "M2", "Sam", "Twin", date_of_birth="2010-04-04"),
            registration_item(3, "R1", "Sam", "Twin", dob="2010-04-04"),
        ],
        3,
    )
    review = MatchService(store).review("R1")
    assert {c.record.portal_id for c in review.candidates} == {"P-a", "P-b"}
    assert review.candidates[0].candidate.namesakes
    [warning] = review.warnings()
    assert "MRN M1 and MRN M2" in warning


def test_a_searched_record_is_explained_too(store: LocalStore) -> None:
    _patients(store)
    store.apply_changes([registration_item(4, "R1", "Ann", "Lee", dob="1975-07-06")], 4)
    view = MatchService(store).compare_with("R1", "P-ann")
    assert view.searched
    dob = next(e for e in view.candidate.evidence if e.field is Field.DATE_OF_BIRTH)
    assert dob.level is Level.TRANSPOSED and dob.reason == "day and month swapped"
    with pytest.raises(NotFoundError):
        MatchService(store).compare_with("R1", "P-unknown")
