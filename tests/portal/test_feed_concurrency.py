"""The feed's promises under concurrent writers of one practice: a randomized test with a checker.

Writers append batches of random size from several threads (some transactions roll back after
taking their items, some do other work first); readers follow the feed with ``seq > after`` pages
as desks do. The checker asserts that every reader saw exactly 1..N in order, with no gap ever
skipped, and that re-reading any ``after`` answers the same items (idempotent re-reads).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.backends import BACKENDS, backend_url
from visitdesk.portal.persistence.db import Database, PoolSettings
from visitdesk.portal.persistence.feed import NewChange, append_changes, read_page
from visitdesk.portal.persistence.models import Practice


class Rollback(Exception):
    """A writer that gives up after taking its items."""


@pytest.fixture
def feed_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    url = backend_url(request.param, tmp_path_factory, "feed")
    db = Database.from_url(url, PoolSettings(pool_size=12, max_overflow=0, timeout=30))
    db.migrate_schema()
    try:
        yield db
    finally:
        db.dispose()


def _new_practice(db: Database) -> str:
    practice_id = str(uuid.uuid4())
    with db.write() as session:
        session.add(Practice(id=practice_id, code=f"FC{practice_id[:8]}", name="Feed concurrency"))
    return practice_id


def _writer(db: Database, practice_id: str, seed: int, transactions: int) -> int:
    """Commits ``transactions`` batches (some others roll back); returns items committed."""
    rng = random.Random(seed)
    committed = 0
    for number in range(transactions):
        size = rng.choice([1, 1, 1, 2, 3, 7, 40])
        changes = [
            NewChange("probe", f"{seed}-{number}-{i}", f'{{"writer":{seed}}}') for i in range(size)
        ]
        try:
            with db.write() as session:
                append_changes(session, practice_id, changes)
                if rng.random() < 0.3:
                    # Other work of the request after queueing its items: the practice row is
                    # not locked yet, so other writers are not held up by it.
                    session.get(Practice, practice_id)
                if rng.random() < 0.1:
                    raise Rollback
            committed += size
        except Rollback:
            pass
    return committed


def _reader(db: Database, practice_id: str, stop: threading.Event, seed: int) -> list[int]:
    rng = random.Random(seed)
    seen: list[int] = []
    after = 0
    while True:
        done = stop.is_set()  # read once more after the writers finished
        with db.read() as session:
            page = read_page(session, practice_id, after, rng.choice([1, 5, 50, 1000]))
        items, more = page.items, page.more
        for item in items:
            assert item.seq == after + 1, f"reader skipped from {after} to {item.seq}"
            after = item.seq
            seen.append(item.seq)
        if done and not items and not more:
            return seen


@pytest.mark.parametrize("feed_db", BACKENDS, indirect=True)
def test_concurrent_writers_never_make_a_reader_skip(feed_db: Database) -> None:
    practice_id = _new_practice(feed_db)
    base = random.randrange(1_000_000)
    writers, readers = 6, 3
    stop = threading.Event()
    with ThreadPoolExecutor(writers + readers) as pool:
        reading = [
            pool.submit(_reader, feed_db, practice_id, stop, base + 100 + r) for r in range(readers)
        ]
        writing = [pool.submit(_writer, feed_db, practice_id, base + w, 25) for w in range(writers)]
        total = sum(w.result(timeout=300) for w in writing)
        stop.set()
        seen = [r.result(timeout=300) for r in reading]
    assert total > 0
    for sequence in seen:
        assert sequence == list(range(1, total + 1)), f"seed {base}"
    # Idempotent re-reads: any position answers the same items every time.
    with feed_db.read() as session:
        for after in random.Random(base).sample(range(total), 10):
            first = read_page(session, practice_id, after, 20).items
            again = read_page(session, practice_id, after, 20).items
            assert first == again
            assert [item.seq for item in first] == list(
                range(after + 1, min(total, after + 20) + 1)
            )
    with feed_db.read() as session:
        assert session.get(Practice, practice_id).last_seq == total  # type: ignore[union-attr]
