"""Rendering many statements in order, on worker processes (or, for a few, in the caller's thread).

reportlab is pure Python, so processes, not threads, use both cores. Chunks are sent a few at a
time per process and their results come back in the order they were sent, so the caller can pair
each PDF with the account it asked for. Takes plain `StatementData`; knows nothing of the store.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

from visitdesk.reports.statement import StatementData, page_count, render_statement

#: Statements per task sent to a worker process, and tasks in flight per process.
CHUNK = 24
IN_FLIGHT_PER_PROCESS = 3


class RenderCancelled(Exception):
    """The caller's cancel event was set; rendering stopped at the next chunk."""


def _background_priority() -> None:
    """Render processes yield the CPU to the desk: a busy run must not make the window stutter.

    With two render processes on a two-core workstation the GUI thread would otherwise wait its
    turn behind them for whole scheduler slices.
    """
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(10)


def _render_chunk(chunk: list[StatementData]) -> list[tuple[bytes, int]]:
    return [(render_statement(data), page_count(data)) for data in chunk]


def chunks(items: Iterable[StatementData], size: int = CHUNK) -> Iterator[list[StatementData]]:
    batch: list[StatementData] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Renderer:
    """Renders chunks in order, on worker processes or (`processes=0`) in this thread."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pool: Pool | None = None
        if processes > 0:
            self.pool = multiprocessing.get_context("spawn").Pool(
                processes, initializer=_background_priority
            )

    def results(
        self, chunks: Iterator[list[StatementData]], cancel: threading.Event | None
    ) -> Iterator[list[tuple[bytes, int]]]:
        """(PDF, page count) per statement, a chunk at a time, in the order given."""
        if self.pool is None:
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    raise RenderCancelled
                yield _render_chunk(chunk)
            return
        pending: deque[AsyncResult[list[tuple[bytes, int]]] | Future[Any]] = deque()
        limit = self.processes * IN_FLIGHT_PER_PROCESS
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                following: list[StatementData] | None = next(chunks, None)
                if following is None:
                    exhausted = True
                    break
                pending.append(self.pool.apply_async(_render_chunk, (following,)))
            if not pending:
                return
            if cancel is not None and cancel.is_set():
                raise RenderCancelled
            result = pending.popleft()
            yield result.get()  # type: ignore[union-attr]

    def close(self, *, abort: bool) -> None:
        if self.pool is None:
            return
        if abort:
            self.pool.terminate()
        else:
            self.pool.close()
        self.pool.join()
