"""Long-polls of the change feed: waiting without a database connection, one read per change.

A desk's ``GET /changes?wait=`` reads once; if nothing is new it registers as a waiter of its
practice and sleeps on an :class:`asyncio.Event`, holding no connection. A change wakes the event:

- in-process, from :class:`~visitdesk.portal.persistence.db.Database` after a commit (SQLite, one
  worker), or
- from the worker's LISTEN connection (:mod:`visitdesk.portal.persistence.listen`) on PostgreSQL,
  whichever worker or host wrote the change.

All waiters of a practice woken by the same change share ONE read (``seq > min(after)`` of the
waiters): the first to wake starts it, the others await the same task and keep the items after
their own ``after``. The desks it answered come straight back with a new long-poll; their first
read is that same shared read while no further change has woken the worker. So fifty idle desks
of a practice cost one feed read per change, not a hundred.

A timer re-read (``recheck``) remains as a safety net for a missed wake-up; it is shared the same
way. A waiter whose ``after`` is older than the shared read's (it registered late) reads alone.

Shared reads of a practice begin at least ``pace`` seconds apart: when changes come faster than
that, each answer carries several of them, so what the desks cost the portal (each answer brings
every desk back with a new request) stays bounded instead of growing with the rate of changes.
A desk that comes back after changes woke the worker again joins the next paced read too,
instead of reading alone. The pace grows with the practice's long-polls in the worker
(``pace_per_desk`` each): answering a desk costs the worker about a millisecond, so fifty desks
answered twenty times a second would take a whole core. A change after a quiet spell is read
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from visitdesk.portal.persistence.feed import FeedPage

#: Practices without a long-poll kept per worker before they are forgotten.
_MOST_IDLE_PRACTICES = 1000

#: Reads one page of every kind: (practice_id, after, limit) -> page (in a worker thread).
PageReader = Callable[[str, int, int], Coroutine[Any, Any, FeedPage]]


@dataclass
class _SharedRead:
    #: Wake-ups counted and loop time when the read began (it may first wait out the pace).
    wakes: int
    started: float
    after: int
    task: asyncio.Task[FeedPage] | None = None
    #: False while the read waits for its turn: it will see every change before it begins.
    begun: bool = False
    #: Answers cut from it, by (after, limit, kinds): desks at the same position get the same
    #: page object, whose JSON is then built once.
    answers: dict[tuple[int, int, frozenset[str] | None], FeedPage] = field(default_factory=dict)


@dataclass
class _Practice:
    event: asyncio.Event = field(default_factory=asyncio.Event)
    wakes: int = 0
    #: Long-polls of this practice in this worker (reading or waiting).
    members: int = 0
    #: ``after`` of each long-poll that found nothing and waits (the shared read starts there).
    waiting: Counter[int] = field(default_factory=Counter)
    read: _SharedRead | None = None


@dataclass(frozen=True)
class _Pacing:
    least: float
    per_desk: float

    def of(self, practice: _Practice) -> float:
        """Seconds between the starts of two shared reads of ``practice``, for its long-polls
        in this worker now."""
        return max(self.least, self.per_desk * practice.members)


class Watch:
    """One practice's wake-ups as seen by a waiter that reads something other than the feed
    (the patient app's chat): see :meth:`ChangeNotifier.watch`."""

    def __init__(self, practice: _Practice) -> None:
        self._practice = practice
        self._seen = practice.wakes

    async def changed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change since the last call (or since the watch
        began); True when there was one."""
        practice = self._practice
        if practice.wakes == self._seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(practice.event.wait(), timeout)
        woken = practice.wakes != self._seen
        self._seen = practice.wakes
        return woken


@dataclass
class LongPollStats:
    """Counters for the metrics endpoint (read from the event loop thread)."""

    waiting: int = 0
    shared_reads: int = 0
    wakeups: int = 0


class ChangeNotifier:
    """Wakes long-polls of a practice when its feed grows; ``notify`` is safe from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._practices: dict[str, _Practice] = {}
        self._closed = threading.Event()
        self.stats = LongPollStats()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def bind_if_unbound(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is None or self._loop.is_closed():
            self._loop = loop

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def notify(self, practice_id: str) -> None:
        self._call(self._wake, practice_id)

    def notify_all(self) -> None:
        """Wake every waiter (e.g. the LISTEN connection was re-established: we may have missed
        notifications while it was down)."""
        self._call(self._wake_all)

    def close(self) -> None:
        """Release every waiter (server shutting down); waits end with an empty page."""
        self._closed.set()
        self._call(self._wake_all)

    @contextlib.contextmanager
    def watch(self, practice_id: str) -> Iterator[Watch]:
        """Wake-ups of ``practice_id`` from now on, for a loop that reads, then waits: a change
        between its read and its wait is not missed, because the watch began before the read."""
        practice = self._practices.setdefault(practice_id, _Practice())
        practice.members += 1
        try:
            yield Watch(practice)
        finally:
            self._leave(practice, None)

    def _call(self, callback: Callable[..., None], *args: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closed meanwhile (shutdown)
            loop.call_soon_threadsafe(callback, *args)

    def _wake(self, practice_id: str) -> None:
        practice = self._practices.get(practice_id)
        if practice is None:
            return  # nobody waits on this practice in this worker
        practice.wakes += 1
        self.stats.wakeups += 1
        event, practice.event = practice.event, asyncio.Event()
        event.set()

    def _wake_all(self) -> None:
        for practice_id in list(self._practices):
            self._wake(practice_id)

    async def wait(
        self,
        practice_id: str,
        after: int,
        limit: int,
        timeout: float,
        recheck: float,
        read: PageReader,
        gone: Callable[[], Awaitable[bool]],
        kinds: frozenset[str] | None = None,
        pace: float = 0.0,
        pace_per_desk: float = 0.0,
    ) -> FeedPage:
        """The page after ``after`` of the ``kinds`` the caller may see (None: all); with nothing
        new, wait up to ``timeout`` seconds for one. ``last_seq`` moves past skipped kinds.
        Shared reads of a practice begin at least ``pace`` seconds apart, or ``pace_per_desk``
        times its long-polls in this worker when that is longer."""
        loop = asyncio.get_running_loop()
        self.bind_if_unbound(loop)
        practice = self._practices.setdefault(practice_id, _Practice())
        practice.members += 1  # before the first read, so a change during it is not missed
        pacing = _Pacing(pace, pace_per_desk)
        seen = practice.wakes
        try:
            page = await self._first_read(
                practice, practice_id, after, limit, read, recheck, pacing, kinds
            )
        except BaseException:
            self._leave(practice, None)
            raise
        if page.items or page.more or timeout <= 0 or self.closed:
            self._leave(practice, None)
            return page
        after = page.last_seq  # wait on from past what this role may not see
        practice.waiting[after] += 1
        self.stats.waiting += 1
        try:
            deadline = loop.time() + timeout
            while not (page.items or page.more) and not self.closed:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                waited_from = loop.time()
                if practice.wakes == seen:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(practice.event.wait(), min(recheck, remaining))
                if self.closed or await gone():
                    break
                woken = practice.wakes != seen
                if not woken and loop.time() - waited_from < min(recheck, remaining):
                    continue  # neither a change nor the recheck timer
                seen = practice.wakes
                page = await self._shared_read(
                    practice,
                    practice_id,
                    after,
                    limit,
                    read,
                    seen,
                    0.0 if woken else waited_from,
                    pacing,
                    kinds,
                )
                if page.last_seq > after and not (page.items or page.more):
                    self._move(practice, after, page.last_seq)
                    after = page.last_seq
        finally:
            self.stats.waiting -= 1
            self._leave(practice, after)
        return page

    @staticmethod
    def _move(practice: _Practice, old: int, new: int) -> None:
        practice.waiting[old] -= 1
        if practice.waiting[old] <= 0:
            del practice.waiting[old]
        practice.waiting[new] += 1

    def _leave(self, practice: _Practice, after: int | None) -> None:
        if after is not None:
            practice.waiting[after] -= 1
            if practice.waiting[after] <= 0:
                del practice.waiting[after]
        practice.members -= 1
        # A practice whose last long-poll ended stays known: its desks come straight back, and
        # their first read is its last shared read (see :meth:`_first_read`). Only when many
        # practices have come and gone are the idle ones forgotten.
        if len(self._practices) > _MOST_IDLE_PRACTICES:
            for key in [k for k, p in self._practices.items() if p.members <= 0]:
                del self._practices[key]

    async def _shared_read(
        self,
        practice: _Practice,
        practice_id: str,
        after: int,
        limit: int,
        read: PageReader,
        wakes: int,
        not_before: float,
        pacing: _Pacing,
        kinds: frozenset[str] | None,
    ) -> FeedPage:
        previous = shared = practice.read
        fresh = (
            shared is not None
            and shared.after <= after
            and (not shared.begun or (shared.wakes >= wakes and shared.started >= not_before))
        )
        if not fresh:
            loop = asyncio.get_running_loop()
            start_after = min(min(practice.waiting, default=after), after)
            shared = practice.read = _SharedRead(practice.wakes, loop.time(), start_after)
            # Paced: the next read of a practice begins ``pace`` seconds after the last one
            # began at the earliest, so a burst of changes reaches its desks in one answer.
            pace = pacing.of(practice)
            delay = 0.0 if previous is None else previous.started + pace - loop.time()
            shared.task = loop.create_task(
                self._paced_read(practice, shared, delay, read, practice_id, limit)
            )
            self.stats.shared_reads += 1
        assert shared is not None
        return await self._from_shared(shared, practice_id, after, limit, read, kinds)

    @staticmethod
    async def _paced_read(
        practice: _Practice,
        shared: _SharedRead,
        delay: float,
        read: PageReader,
        practice_id: str,
        limit: int,
    ) -> FeedPage:
        if delay > 0:
            await asyncio.sleep(delay)
        shared.wakes, shared.started = practice.wakes, asyncio.get_running_loop().time()
        shared.begun = True
        return await read(practice_id, shared.after, limit)

    async def _first_read(
        self,
        practice: _Practice,
        practice_id: str,
        after: int,
        limit: int,
        read: PageReader,
        recheck: float,
        pacing: _Pacing,
        kinds: frozenset[str] | None,
    ) -> FeedPage:
        """A new long-poll's first read: the practice's last shared read when no change has
        woken this worker since it began (it holds everything committed until then, and a
        change committed later wakes the caller, who counted the wakes before this read).
        The desks answered by one change come straight back; they all start from that read.
        When changes keep coming, they take part in the practice's next paced read instead of
        reading alone: a busy practice costs one read per ``pace``, however many desks."""
        shared = practice.read
        loop = asyncio.get_running_loop()
        if (
            shared is not None
            and shared.begun
            and shared.wakes == practice.wakes
            and shared.after <= after
            and loop.time() - shared.started < recheck
        ):
            return await self._from_shared(shared, practice_id, after, limit, read, kinds)
        if shared is None or pacing.of(practice) <= 0:
            return _only(await read(practice_id, after, limit), kinds)
        return await self._shared_read(
            practice,
            practice_id,
            after,
            limit,
            read,
            practice.wakes,
            loop.time() - recheck,
            pacing,
            kinds,
        )

    @staticmethod
    async def _from_shared(
        shared: _SharedRead,
        practice_id: str,
        after: int,
        limit: int,
        read: PageReader,
        kinds: frozenset[str] | None,
    ) -> FeedPage:
        assert shared.task is not None
        page = await asyncio.shield(shared.task)
        known = shared.answers.get((after, limit, kinds))
        if known is not None:
            return known
        mine = [row for row in page.items if row.seq > after]
        if page.more and not mine:
            # The shared page stopped before our position: read our own page.
            return _only(await read(practice_id, after, limit), kinds)
        if len(mine) > limit:
            answer = FeedPage(mine[:limit], True, mine[limit - 1].seq)
        else:
            answer = FeedPage(mine, page.more, max(after, page.last_seq))
        answer = shared.answers[(after, limit, kinds)] = _only(answer, kinds)
        return answer


def _only(page: FeedPage, kinds: frozenset[str] | None) -> FeedPage:
    """The page with only ``kinds`` kept; ``last_seq`` still covers what was skipped."""
    if kinds is None:
        return page
    return FeedPage([row for row in page.items if row.kind in kinds], page.more, page.last_seq)
