"""ChangeNotifier bookkeeping: waiters of a practice, shared reads, and a failed read."""

from __future__ import annotations

import asyncio

import pytest

from visitdesk.portal.persistence.feed import FeedPage, FeedRow
from visitdesk.portal.persistence.longpoll import ChangeNotifier


class Feed:
    """A practice's feed in memory, counting reads (the database's part is tested elsewhere)."""

    def __init__(self) -> None:
        self.rows: list[FeedRow] = []
        self.reads = 0
        self.fail = False

    async def read(self, _practice: str, after: int, limit: int) -> FeedPage:
        self.reads += 1
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("database away")
        page = [row for row in self.rows if row.seq > after][: limit + 1]
        shown = page[:limit]
        return FeedPage(shown, len(page) > limit, shown[-1].seq if shown else after)

    def append(self) -> None:
        self.rows.append(FeedRow(len(self.rows) + 1, "checkin", "upsert", "id", "{}"))


async def _present() -> bool:
    return False


def test_one_read_answers_every_waiter_of_a_practice() -> None:
    async def scenario() -> None:
        notifier, feed = ChangeNotifier(), Feed()
        notifier.bind(asyncio.get_running_loop())
        waits = [
            asyncio.create_task(notifier.wait("p", 0, 100, 10, 60, feed.read, _present))
            for _ in range(20)
        ]
        while notifier.stats.waiting < 20:
            await asyncio.sleep(0.01)
        assert feed.reads == 20  # each desk's own first read
        feed.append()
        notifier.notify("p")
        pages = await asyncio.gather(*waits)
        assert all([row.seq for row in page.items] == [1] for page in pages)
        assert feed.reads == 21  # one shared read for the change
        assert notifier.stats.waiting == 0
        assert _idle(notifier)

        # The desks come straight back: their first read is the shared one, not twenty more.
        waits = [
            asyncio.create_task(notifier.wait("p", 1, 100, 10, 60, feed.read, _present))
            for _ in range(20)
        ]
        while notifier.stats.waiting < 20:
            await asyncio.sleep(0.01)
        assert feed.reads == 21
        feed.append()
        notifier.notify("p")
        pages = await asyncio.gather(*waits)
        assert all([row.seq for row in page.items] == [2] for page in pages)
        assert feed.reads == 22

    asyncio.run(scenario())


def test_a_change_after_the_shared_read_is_read_again_by_a_desk_that_comes_back() -> None:
    async def scenario() -> None:
        notifier, feed = ChangeNotifier(), Feed()
        notifier.bind(asyncio.get_running_loop())
        wait = asyncio.create_task(notifier.wait("p", 0, 100, 10, 60, feed.read, _present))
        while notifier.stats.waiting < 1:
            await asyncio.sleep(0.01)
        feed.append()
        notifier.notify("p")
        assert [row.seq for row in (await wait).items] == [1]
        feed.append()  # committed after the shared read; its wake-up arrives first
        notifier.notify("p")
        await asyncio.sleep(0.01)
        page = await notifier.wait("p", 1, 100, 10, 60, feed.read, _present)
        assert [row.seq for row in page.items] == [2]

    asyncio.run(scenario())


def _idle(notifier: ChangeNotifier) -> bool:
    """No long-poll is left counted as reading or waiting in any practice."""
    return all(
        practice.members == 0 and not practice.waiting for practice in notifier._practices.values()
    )


def test_a_desk_waits_on_past_kinds_its_role_may_not_see() -> None:
    async def scenario() -> None:
        notifier, feed = ChangeNotifier(), Feed()
        notifier.bind(asyncio.get_running_loop())
        billing = frozenset({"ledger_line"})
        wait = asyncio.create_task(
            notifier.wait("p", 0, 100, 0.3, 60, feed.read, _present, kinds=billing)
        )
        while notifier.stats.waiting < 1:
            await asyncio.sleep(0.01)
        feed.append()  # a check-in: not for billing, so the wait goes on
        notifier.notify("p")
        page = await asyncio.wait_for(wait, 5)
        assert page.items == [] and page.last_seq == 1  # the client skips it once

    asyncio.run(scenario())


def test_a_failed_first_read_leaves_no_waiter_behind() -> None:
    async def scenario() -> None:
        notifier, feed = ChangeNotifier(), Feed()
        feed.fail = True
        with pytest.raises(ConnectionError):
            await notifier.wait("p", 0, 100, 10, 60, feed.read, _present)
        assert _idle(notifier)
        assert notifier.stats.waiting == 0

    asyncio.run(scenario())


def test_the_recheck_timer_reads_when_no_wake_up_comes() -> None:
    async def scenario() -> None:
        notifier, feed = ChangeNotifier(), Feed()
        notifier.bind(asyncio.get_running_loop())
        wait = asyncio.create_task(notifier.wait("p", 0, 100, 10, 0.05, feed.read, _present))
        await asyncio.sleep(0.01)
        feed.append()  # written where no wake-up reaches this worker
        page = await asyncio.wait_for(wait, 5)
        assert [row.seq for row in page.items] == [1]

    asyncio.run(scenario())


def test_desks_coming_back_while_changes_keep_coming_share_the_next_paced_read() -> None:
    async def scenario() -> None:
        notifier, feed = ChangeNotifier(), Feed()
        notifier.bind(asyncio.get_running_loop())

        def desks(after: int) -> list[asyncio.Task[FeedPage]]:
            return [
                asyncio.create_task(
                    notifier.wait("p", after, 100, 10, 60, feed.read, _present, pace=0.2)
                )
                for _ in range(20)
            ]

        waits = desks(0)
        while notifier.stats.waiting < 20:
            await asyncio.sleep(0.01)
        feed.append()
        notifier.notify("p")
        await asyncio.gather(*waits)
        reads = feed.reads

        # Another change wakes the worker before the answered desks are back: they must not
        # each read alone, but share one read, begun a pace after the last one.
        feed.append()
        notifier.notify("p")
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        back = loop.time()
        pages = await asyncio.gather(*desks(1))
        assert all([row.seq for row in page.items] == [2] for page in pages)
        assert feed.reads == reads + 1
        assert loop.time() - back > 0.1  # paced, not at once
        # Desks at the same place get the very same page: its JSON is built once.
        assert len({id(page) for page in pages}) == 1
        assert _idle(notifier)

    asyncio.run(scenario())


def test_the_pace_grows_with_the_desks_of_the_practice() -> None:
    async def scenario() -> None:
        notifier, feed = ChangeNotifier(), Feed()
        notifier.bind(asyncio.get_running_loop())
        loop = asyncio.get_running_loop()

        async def answered_in(desks: int) -> float:
            """Seconds from a change to the answers, right after a first change was read."""
            after = len(feed.rows)
            waits = [
                asyncio.create_task(
                    notifier.wait(
                        "p", after, 100, 10, 60, feed.read, _present, pace=0.01, pace_per_desk=0.02
                    )
                )
                for _ in range(desks)
            ]
            while notifier.stats.waiting < desks:
                await asyncio.sleep(0.005)
            feed.append()
            notifier.notify("p")
            await asyncio.gather(*waits)  # a read begins now: the next one is paced
            waits = [
                asyncio.create_task(
                    notifier.wait(
                        "p",
                        after + 1,
                        100,
                        10,
                        60,
                        feed.read,
                        _present,
                        pace=0.01,
                        pace_per_desk=0.02,
                    )
                )
                for _ in range(desks)
            ]
            while notifier.stats.waiting < desks:
                await asyncio.sleep(0.005)
            started = loop.time()
            feed.append()
            notifier.notify("p")
            await asyncio.gather(*waits)
            return loop.time() - started

        few = await answered_in(2)  # pace max(0.01, 2 x 0.02) = 0.04 s
        many = await answered_in(20)  # pace 20 x 0.02 = 0.4 s
        assert many > 0.25 > few

    asyncio.run(scenario())
