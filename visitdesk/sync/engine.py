"""The sync engine: keeps the local store and the portal in step, on two worker threads.

- The pull worker long-polls the change feed after the store's `last_seq` and applies each page in
  one store transaction, looping at once while the portal says there is more.
- The push workers (`push_concurrency` of them) send outbox items, each keeping its idempotency
  key on every retry, so an action is applied by the portal exactly once however often it is
  delivered. Bulk batches that commute go several at a time; everything else keeps the queue's
  order (the rule is in `visitdesk.sync.push_order`).

Transient failures (offline, 5xx, 429) back off with capped exponential delay and full jitter. A
session that cannot be refreshed pauses both workers until `auth_restored()`. The engine has no Qt
in it: the listener is called from the worker threads and the desktop forwards to Qt signals.
After `stop()` returns the engine never touches the store or the listener again.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from visitdesk.api.wire import ChangeItem, ChangesPage
from visitdesk.sync.errors import (
    AuthExpired,
    PortalError,
    RateLimited,
    is_transient,
    may_succeed_again,
)
from visitdesk.sync.push_order import Ahead, Footprint, ready_to_send
from visitdesk.sync.store import OutboxItem, StoreUnavailable, SyncStore

log = logging.getLogger(__name__)

#: Feed items written in one transaction while catching up (a workstation's first sync). SQLite
#: rewrites every index page a transaction touches, and a large ledger's keys land on pages all
#: over its indexes: a few large transactions write several times less than many small ones.
CATCH_UP_BATCH = 20_000
#: ... and for at most this long, since other writers of the local database wait meanwhile.
CATCH_UP_SECONDS = 2.0
#: Pages fetched ahead of the one being written.
PAGES_AHEAD = 2
#: Outbox items sent at once (when they commute, see `push_order`). A practice's first load is
#: hundreds of bulk batches; a few in flight keep both the desk and the portal busy instead of
#: each waiting for the other, and more than a few only queue on the portal's database.
PUSH_CONCURRENCY = 4
#: Most pending items looked at to find one that may go while others are in flight.
PUSH_LOOKAHEAD = 64
#: Most footprints kept for items looked at (far more than the lookahead and those in flight).
FOOTPRINTS_KEPT = 1024

T = TypeVar("T")

#: Shown while the local database cannot record what the portal answered.
STORE_FULL = "this computer's disk is full"
STORE_READ_ONLY = "the local database is read-only"
STORE_UNUSABLE = "the local database cannot be written"
STORE_BUG = "VisitDesk hit an internal error saving to its local database"
#: Longest wait between attempts to record an outcome: the store usually comes back (disk space
#: freed) without anything telling the engine, and a retry costs only a replayed answer.
STORE_RETRY_MAX = 5.0

#: Said when something other than the portal broke while sending an item (a bug on our side).
INTERNAL_SEND_ERROR = "VisitDesk could not send this change because of an internal error."


class SyncClient(Protocol):
    """The part of PortalClient the engine uses."""

    def get_changes(self, after: int, limit: int, wait: float) -> ChangesPage: ...

    def send(
        self,
        command_name: str,
        params: Mapping[str, str],
        body: dict[str, Any] | None,
        idempotency_key: str,
        body_json: str | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class SyncStatus:
    online: bool | None = None  # None until the portal has answered or failed once
    last_sync_at: datetime | None = None  # last successful exchange with the portal
    outbox_pending: int = 0
    auth_needed: bool = False
    last_error: str | None = None  # plain words, no PHI
    #: Why the local database cannot be written just now (plain words); changes wait meanwhile.
    store_problem: str | None = None


class SyncListener(Protocol):
    """Called from the engine's worker threads."""

    def on_changes(self, kinds: set[str]) -> None: ...

    def on_status(self, status: SyncStatus) -> None: ...

    def on_outbox_failed(self, item: OutboxItem, message: str) -> None: ...


#: How long the portal keeps idempotency records (its ``idempotency_retention``, 30 days by
#: default). A change queued longer ago may have reached the portal already (sent, then the app was
#: killed before it noted the answer); resent blindly after the portal forgot its key, it would
#: apply twice. Such changes are held for a person to send anyway or discard.
HOLD_AFTER = timedelta(days=30)
#: Start of the reason stored for a held change (the refused-changes dialog recognises it).
HELD_PREFIX = "Held:"


def held_message(item: OutboxItem) -> str:
    return (
        f"{HELD_PREFIX} queued on {item.created_at:%Y-%m-%d}, longer ago than the portal "
        "remembers changes it has received. It may have reached the portal already. Check the "
        "portal's data, then send it anyway or discard it."
    )


class EngineStopped(RuntimeError):
    """The engine was stopped; it will not touch the store any more."""


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (0-based): full jitter over a capped
    exponential, i.e. uniform(0, min(cap, base * 2**attempt))."""
    ceiling = min(cap, base * (2 ** min(attempt, 62)))
    return rng.uniform(0.0, ceiling)


class SyncEngine:
    def __init__(
        self,
        client: SyncClient,
        store: SyncStore,
        *,
        wait_seconds: float = 20,
        page_limit: int = 1000,
        catch_up_batch: int = CATCH_UP_BATCH,
        catch_up_seconds: float = CATCH_UP_SECONDS,
        backoff_base: float = 0.5,
        backoff_max: float = 60,
        listener: SyncListener | None = None,
        rng: random.Random | None = None,
        hold_after: timedelta | None = HOLD_AFTER,
        push_concurrency: int = PUSH_CONCURRENCY,
    ) -> None:
        if push_concurrency < 1:
            raise ValueError("push_concurrency must be at least 1")
        self._client = client
        self.push_concurrency = push_concurrency
        # Older queued changes wait for a person: the portal may have forgotten their keys.
        self.hold_after = hold_after
        self._store = store
        self.wait_seconds = wait_seconds
        self.page_limit = page_limit
        self.catch_up_batch = catch_up_batch
        self.catch_up_seconds = catch_up_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._listener = listener
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()

        # _guard covers every store and listener call and the _stopped flag, so stop() can promise
        # that nothing touches the store once it returns.
        self._guard = threading.RLock()
        self._stopped = False
        self._started = False

        self._stop_event = threading.Event()
        self._auth_event = threading.Event()  # auth_restored()

        # The push workers' shared state. _push_cond is only ever held for a moment (kick() takes
        # it on the GUI thread); it guards the three fields below.
        self._push_cond = threading.Condition()
        self._push_news = 0  # bumped by kick(), a settled item, a pause or a resume
        self._push_paused_until = 0.0  # time.monotonic(): backing off after a transient failure
        self._push_attempt = 0  # transient failures in a row, for the backoff
        # _claim_lock serialises picking the next item (a store read); it guards _in_flight.
        self._claim_lock = threading.Lock()
        self._in_flight: dict[int, Footprint] = {}
        # Footprints of items looked at and not yet settled, by (id, idempotency key): a batch
        # waiting behind others is looked at by every claim, and its footprint reads its text.
        self._footprints: dict[tuple[int, str], Footprint] = {}

        self._status_lock = threading.Condition()
        self._status = SyncStatus()
        self._pull_cycles = 0  # completed pulls that reached the end of the feed
        #: Per worker, why it cannot write to the store just now (under _status_lock).
        self._store_problems: dict[str, str] = {}

        self._threads: list[threading.Thread] = []
        # While catching up, the pages still to write, fetched ahead (pull worker only).
        self._stream: _PageStream | None = None

    # ------------------------------------------------------------------ public API

    @property
    def status(self) -> SyncStatus:
        with self._status_lock:
            return self._status

    @property
    def running(self) -> bool:
        return self._started and not self._stopped

    def start(self) -> None:
        if self._started:
            raise RuntimeError("The sync engine can only be started once.")
        if self._stopped:
            raise EngineStopped("The sync engine was stopped.")
        self._started = True
        self._threads = [
            threading.Thread(target=self._pull_loop, name="visitdesk-sync-pull", daemon=True)
        ]
        self._threads += [
            threading.Thread(target=self._push_loop, name=f"visitdesk-sync-push-{n}", daemon=True)
            for n in range(1, self.push_concurrency + 1)
        ]
        for thread in self._threads:
            thread.start()
        log.info("Sync engine started")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both workers. Once this returns the engine never touches the store again.

        The pull worker may still be waiting in a long-poll; it is a daemon thread and is not
        waited for beyond a short grace period, and it drops whatever that request returns.
        """
        self._stop_event.set()  # a batch being written gives up at its next page
        with self._guard:  # waits for a batch being written or an outbox update to finish
            self._stopped = True
            # A pull worker still in its long-poll outlives this call; it must not be the one
            # to drop the last reference to the listener (a Qt object on the desktop, which may
            # only be destroyed on its own thread).
            self._listener = None
        self._push_news_now(resume=True)
        self._auth_event.set()
        with self._status_lock:
            self._status_lock.notify_all()
        current = threading.current_thread()
        deadline = _deadline(timeout)
        for thread in self._threads:
            if thread is current:
                continue
            grace = min(timeout, 0.5) if thread.name.endswith("pull") else timeout
            # Push workers still waiting for a portal answer share one deadline; each drops its
            # answer unrecorded (the same key is sent again next start).
            thread.join(max(0.0, min(grace, deadline())))
        log.info("Sync engine stopped")

    def kick(self) -> None:
        """A new outbox item was recorded: wake the push workers (cheap, any thread)."""
        self._push_news_now()

    def auth_restored(self) -> None:
        """The user signed in again: resume pulling and pushing."""
        self._set_status(auth_needed=False, last_error=None)
        self._auth_event.set()
        self._push_news_now(resume=True)

    def pull_once(self, wait: float = 0) -> set[str]:
        """Pull and apply pages until the feed is drained, on the calling thread.

        For the first sync after sign-in and for tests; not while the workers run. Errors are
        raised as PortalError.
        """
        self._require_idle()
        kinds: set[str] = set()
        while True:
            more, changed = self._pull_page(wait)
            kinds |= changed
            if not more:
                return kinds

    def push_once(self) -> int:
        """Send outbox items on the calling thread until none is left; returns how many were sent.

        Permanent failures are parked and reported as usual; a transient failure or AuthExpired
        is raised (the item stays first in line). Not while the workers run.
        """
        self._require_idle()
        sent = 0
        while True:
            item = self._guarded(self._store.next_outbox_item)
            if item is None:
                self._refresh_pending()
                return sent
            outcome = self._send_item(item)
            if isinstance(outcome, BaseException):
                raise outcome
            sent += outcome

    def sync_until_idle(self, timeout: float) -> bool:
        """Bring the store up to date with the portal and empty the outbox.

        Without workers running this pulls and pushes on the calling thread (then pulls again to
        see the effects). With workers running it waits until the outbox is empty and the pull
        worker has twice reached the end of the feed. Returns False on timeout.
        """
        if not self._started:
            self.pull_once()
            self.push_once()
            self.pull_once()
            return True
        deadline = _deadline(timeout)
        with self._status_lock:
            target = self._pull_cycles + 2
        while True:
            try:
                pending = self._guarded(self._store.outbox_pending_count)
            except EngineStopped:
                return False
            with self._status_lock:
                if self._pull_cycles >= target and pending == 0:
                    return True
                remaining = deadline()
                if remaining <= 0:
                    return False
                # Woken by status changes; the short cap re-reads the outbox count.
                self._status_lock.wait(min(remaining, 0.05))

    # ------------------------------------------------------------------ pull worker

    def _pull_loop(self) -> None:
        attempt = 0
        while not self._stop_event.is_set():
            if self.status.auth_needed:
                self._auth_event.wait()
                continue
            try:
                more, _ = self._pull_page(self.wait_seconds)
            except EngineStopped:
                return
            except AuthExpired:
                self._on_auth_expired("pull")
                continue
            except PortalError as exc:
                self._went_offline(exc)
                delay = self._delay(attempt, exc)
                attempt += 1
                log.info("Pull failed (%s); retrying in %.1fs", type(exc).__name__, delay)
                self._stop_event.wait(delay)
                continue
            except StoreUnavailable as exc:
                self._store_failed("pull", exc)
                delay = min(self._delay(attempt, None), STORE_RETRY_MAX)
                attempt += 1
                self._stop_event.wait(delay)
                continue
            except Exception:
                log.exception("Unexpected error in the pull worker")
                self._set_status(last_error="Syncing with the portal failed unexpectedly.")
                delay = self._delay(attempt, None)
                attempt += 1
                self._stop_event.wait(delay)
                continue
            attempt = 0
            if not more:
                with self._status_lock:
                    self._pull_cycles += 1
                    self._status_lock.notify_all()

    def _pull_page(self, wait: float) -> tuple[bool, set[str]]:
        """Fetch and write one batch of the feed; returns (more waiting, kinds written)."""
        after = self._guarded(self._store.last_seq)
        stream, self._stream = self._stream, None
        if stream is not None and stream.position != after:
            stream.close()  # the batch before was not written: start again from the store's seq
            stream = None
        if stream is None:
            first = self._client.get_changes(after, self.page_limit, wait)
            if not first.items and not first.more and first.last_seq == after:
                self._guarded(lambda: None)  # stopped meanwhile: EngineStopped
                self._came_online()
                return False, set()  # a long-poll that ended with no news: nothing to write
            stream = _PageStream(first, self._client, self.page_limit, self._stop_event)
        batch = _Batch(stream, self.catch_up_batch, self.catch_up_seconds, self._stop_event)
        try:
            with self._guard:
                if self._stopped:
                    raise EngineStopped()
                kinds = self._store.apply_pages(batch.pages())
                if batch.pages_written:
                    log.debug("Applied %d changes up to seq %d", batch.items, stream.position)
                self._changed(kinds)
        except BaseException:
            stream.close()
            raise
        self._store_recovered("pull")
        if batch.error is not None:
            stream.close()
            raise batch.error  # after writing what arrived before it
        if stream.more:
            self._stream = stream  # the next batch continues where this one ended
        else:
            stream.close()
        self._came_online()
        return stream.more, kinds

    # ------------------------------------------------------------------ push worker

    def _push_loop(self) -> None:
        """One push worker: take the next item the ordering rule lets go, send it, record it."""
        store_attempt = 0
        while not self._stop_event.is_set():
            if self.status.auth_needed:
                self._auth_event.wait()
                continue
            with self._push_cond:
                pause = self._push_paused_until - time.monotonic()
                if pause > 0:
                    self._push_cond.wait(pause)  # backing off; a resume or stop() ends it early
                    continue
                seen = self._push_news
            try:
                item = self._claim()
                self._refresh_pending()
            except EngineStopped:
                return
            except Exception as exc:
                self._store_failed("push", exc)
                self._stop_event.wait(min(self._delay(store_attempt, None), STORE_RETRY_MAX))
                store_attempt += 1
                continue
            if item is None:
                with self._push_cond:
                    # Nothing may go now: wait for a new item, a settled one, or stop().
                    while self._push_news == seen and not self._stop_event.is_set():
                        self._push_cond.wait()
                continue
            try:
                outcome = self._send_item(item)
            except EngineStopped:
                return
            except Exception as exc:
                # The outcome could not be recorded (disk full, read-only...). The item stays in
                # line; sent again under the same key, the portal replays its answer, so the
                # action is still applied once. The worker lives on and says why changes wait.
                self._release(item)
                self._store_failed("push", exc)
                delay = min(self._delay(store_attempt, None), STORE_RETRY_MAX)
                store_attempt += 1
                log.info("Outbox item %d: outcome not recorded; retrying in %.1fs", item.id, delay)
                self._stop_event.wait(delay)
                continue
            store_attempt = 0
            if isinstance(outcome, AuthExpired):
                self._on_auth_expired("push")
            elif isinstance(outcome, PortalError):
                # Pause every worker before the item is back in line, so none sends it at once.
                delay = self._pause_push(outcome)
                log.info(
                    "Outbox item %d not sent (%s); retrying in %.1fs",
                    item.id,
                    type(outcome).__name__,
                    delay,
                )
            else:
                with self._push_cond:
                    self._push_attempt = 0
            self._release(item)

    def _claim(self) -> OutboxItem | None:
        """The next item that may be sent now (marked in flight), or None."""
        with self._claim_lock:
            # Checked here too, under the lock a failed item is released with: a worker that
            # looked before another one's failure must not send the item straight away.
            if self.status.auth_needed:
                return None
            with self._push_cond:
                if self._push_paused_until > time.monotonic():
                    return None
            ahead = Ahead(self._in_flight.values())
            after, looked, chunk = 0, 0, 1
            while looked < PUSH_LOOKAHEAD:
                line = self._guarded(self._store.outbox_line, after, list(self._in_flight), chunk)
                chosen, more = ready_to_send(line, ahead, 1, self._footprint)
                if chosen:
                    item = chosen[0]
                    self._in_flight[item.id] = self._footprint(item)
                    return item
                if not more or len(line) < chunk:
                    return None
                # The head waits on an item in flight; look further down the line.
                after, looked, chunk = line[-1].id, looked + len(line), min(chunk * 4, 16)
            return None

    def _footprint(self, item: OutboxItem) -> Footprint:
        """`Footprint.of(item)`, read once per item (call with the claim lock held)."""
        key = (item.id, item.idempotency_key)
        footprint = self._footprints.get(key)
        if footprint is None:
            if len(self._footprints) >= FOOTPRINTS_KEPT:
                self._footprints.clear()
            footprint = self._footprints[key] = Footprint.of(item)
        return footprint

    def _release(self, item: OutboxItem) -> None:
        """`item` is no longer in flight (settled, or back in line): others may pass now."""
        with self._claim_lock:
            self._in_flight.pop(item.id, None)
            self._footprints.pop((item.id, item.idempotency_key), None)
        self._push_news_now()

    def _pause_push(self, exc: PortalError) -> float:
        """Hold every push worker back after a transient failure; returns the delay."""
        with self._push_cond:
            now = time.monotonic()
            delay = self._delay(self._push_attempt, exc)
            if self._push_paused_until <= now:
                self._push_attempt += 1  # several items failing together count as one attempt
            self._push_paused_until = max(self._push_paused_until, now + delay)
            self._push_news += 1
            self._push_cond.notify_all()
        return delay

    def _push_news_now(self, *, resume: bool = False) -> None:
        """Wake the push workers; `resume` also ends a backoff (the portal is reachable again)."""
        with self._push_cond:
            self._push_news += 1
            if resume:
                self._push_paused_until = 0.0
            self._push_cond.notify_all()

    def _send_item(self, item: OutboxItem) -> int | PortalError:
        """Send one item and record the outcome: 1 sent, 0 parked, or the error to retry on."""
        if self._too_old(item):
            self._park(item, held_message(item), "held: older than the portal remembers")
            return 0
        try:
            response = self._client.send(
                item.command, item.params, item.body, item.idempotency_key, item.body_json
            )
        except AuthExpired as exc:
            return exc
        except PortalError as exc:
            if is_transient(exc):
                self._went_offline(exc)
                self._guarded(self._store.outbox_attempt_failed, item.id, exc.user_message)
                self._store_recovered("push")
                return exc
            self._park(item, exc.user_message, type(exc).__name__, may_succeed_again(exc))
            return 0
        except Exception:
            log.exception("Unexpected error sending outbox item %d", item.id)
            self._park(item, INTERNAL_SEND_ERROR, "internal error")
            return 0
        with self._guard:
            if self._stopped:
                # Not recorded: it is sent again next start under the same key and the portal
                # replays its first answer.
                raise EngineStopped()
            kinds = self._store.outbox_sent(item.id, response)
            self._changed(kinds)
        self._store_recovered("push")
        log.debug("Outbox item %d sent", item.id)
        self._came_online()
        self._refresh_pending()
        return 1

    def _too_old(self, item: OutboxItem) -> bool:
        if self.hold_after is None:
            return False
        created = item.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return datetime.now(UTC) - created > self.hold_after

    def _park(self, item: OutboxItem, message: str, reason: str, retryable: bool = True) -> None:
        log.warning(
            "Outbox item %d refused (%s; may be sent again: %s)", item.id, reason, retryable
        )
        with self._guard:
            if self._stopped:
                raise EngineStopped()
            kinds = self._store.outbox_failed(item.id, message, retryable)
            self._changed(kinds)
            if self._listener is not None:
                self._notify(self._listener.on_outbox_failed, item, message)
        self._store_recovered("push")
        self._refresh_pending()

    # ------------------------------------------------------------------ helpers

    def _require_idle(self) -> None:
        if self._stopped:
            raise EngineStopped("The sync engine was stopped.")
        if self._started:
            raise RuntimeError("pull_once/push_once cannot run while the sync workers run.")

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        with self._guard:
            if self._stopped:
                raise EngineStopped()
            return fn(*args)

    def _changed(self, kinds: set[str] | None) -> None:
        """Tell the listener which kinds were written (caller holds the guard)."""
        if kinds and self._listener is not None:
            self._notify(self._listener.on_changes, set(kinds))

    def _store_failed(self, worker: str, exc: BaseException) -> None:
        if isinstance(exc, StoreUnavailable):
            text = str(exc).lower()
            if "full" in text:
                problem = STORE_FULL
            elif "readonly" in text or "read-only" in text:
                problem = STORE_READ_ONLY
            else:
                problem = STORE_UNUSABLE
            log.warning("The %s worker cannot use the local store (%s); retrying", worker, problem)
        else:
            log.exception("Unexpected error in the %s worker's store call", worker)
            problem = STORE_BUG
        with self._status_lock:
            self._store_problems[worker] = problem
        self._set_status(store_problem=problem)

    def _store_recovered(self, worker: str) -> None:
        """`worker` wrote to the store again; the problem is over once no worker has one."""
        with self._status_lock:
            if self._store_problems.pop(worker, None) is None:
                return
            remaining = next(iter(self._store_problems.values()), None)
        if remaining is None:
            log.info("The local store can be written again")
        self._set_status(store_problem=remaining)

    def _refresh_pending(self) -> None:
        pending = self._guarded(self._store.outbox_pending_count)
        self._set_status(outbox_pending=pending)

    def _delay(self, attempt: int, exc: BaseException | None) -> float:
        with self._rng_lock:
            delay = backoff_delay(
                attempt, base=self.backoff_base, cap=self.backoff_max, rng=self._rng
            )
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.backoff_max))
        return delay

    def _went_offline(self, exc: PortalError) -> None:
        self._set_status(online=False, last_error=exc.user_message)

    def _came_online(self) -> None:
        status = self.status
        was_online = status.online
        changes: dict[str, Any] = {"online": True, "last_sync_at": datetime.now(UTC)}
        if not status.auth_needed:
            # A call answered just before another worker's token expired must not hide that.
            changes["last_error"] = None
        self._set_status(**changes)
        if was_online is False:
            self._push_news_now(resume=True)  # the push workers need not sit out their backoff

    def _on_auth_expired(self, worker: str) -> None:
        log.info("Sign-in needed; %s worker paused", worker)
        self._auth_event.clear()
        self._set_status(auth_needed=True, last_error=AuthExpired.user_message)

    def _set_status(self, **changes: Any) -> None:
        with self._status_lock:
            new = replace(self._status, **changes)
            if new == self._status:
                return
            self._status = new
            self._status_lock.notify_all()
        if self._listener is not None:
            with self._guard:
                if not self._stopped:
                    self._notify(self._listener.on_status, new)

    def _notify(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("Sync listener failed")


def _deadline(timeout: float) -> Callable[[], float]:
    end = time.monotonic() + timeout
    return lambda: end - time.monotonic()


class _PageStream:
    """The pages of the feed from a first page on, the following ones fetched ahead on a helper.

    The helper holds only the client and this stream, never the engine (nor through it the store
    or the listener), and stops at the end of the feed, on an error (handed on in order), or
    when the stream is closed.
    """

    def __init__(
        self, first: ChangesPage, client: SyncClient, limit: int, stop: threading.Event
    ) -> None:
        self.position = -1  # last_seq of the last page handed out
        self.more = first.more
        self._first: ChangesPage | None = first
        self._stop = stop
        self._closed = threading.Event()
        self._queue: queue.Queue[ChangesPage | BaseException] = queue.Queue(maxsize=PAGES_AHEAD)
        if first.more:
            threading.Thread(
                target=self._fetch,
                args=(client, first.last_seq, limit),
                name="visitdesk-sync-prefetch",
                daemon=True,
            ).start()

    def next_page(self) -> ChangesPage:
        """The next page; raises what fetching it raised, or EngineStopped once stop is asked."""
        if self._first is not None:
            page, self._first = self._first, None
        else:
            while True:
                if self._stop.is_set():
                    raise EngineStopped()
                try:
                    got = self._queue.get(timeout=0.05)
                except queue.Empty:
                    continue
                if isinstance(got, BaseException):
                    raise got
                page = got
                break
        self.position, self.more = page.last_seq, page.more
        return page

    def close(self) -> None:
        self._closed.set()

    def _fetch(self, client: SyncClient, after: int, limit: int) -> None:
        position = after
        while not (self._closed.is_set() or self._stop.is_set()):
            try:
                got: ChangesPage | BaseException = client.get_changes(position, limit, 0)
            except BaseException as exc:
                got = exc
            while not (self._closed.is_set() or self._stop.is_set()):
                try:
                    self._queue.put(got, timeout=0.05)
                    break
                except queue.Full:
                    continue
            if isinstance(got, BaseException) or not got.more:
                return
            position = got.last_seq


class _Batch:
    """The pages one transaction writes: up to a number of items or seconds, or an error."""

    def __init__(
        self, stream: _PageStream, max_items: int, max_seconds: float, stop: threading.Event
    ) -> None:
        self.items = 0
        self.pages_written = 0
        #: A fetch that failed after some pages of the batch arrived; raised once they are written.
        self.error: BaseException | None = None
        self._stream = stream
        self._max_items = max_items
        self._max_seconds = max_seconds
        self._stop = stop

    def pages(self) -> Iterator[tuple[Sequence[ChangeItem], int]]:
        started = time.monotonic()
        while True:
            if self._stop.is_set():
                raise EngineStopped()
            try:
                page = self._stream.next_page()
            except EngineStopped:
                raise
            except Exception as exc:
                if not self.pages_written:
                    raise
                self.error = exc
                return
            self.items += len(page.items)
            self.pages_written += 1
            yield page.items, page.last_seq
            if (
                not self._stream.more
                or self.items >= self._max_items
                or time.monotonic() - started >= self._max_seconds
            ):
                return
