"""The change feed, with long-polling."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from visitdesk.api.commands import GET_CHANGES
from visitdesk.api.wire import MAX_CHANGES_LIMIT, MAX_WAIT_SECONDS, ErrorBody
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import FeedRow, page_json, read_page
from visitdesk.portal.web.deps import CurrentStaff, State
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(tags=["staff changes"])


def _read(db: Database, practice_id: str, after: int, limit: int) -> tuple[list[FeedRow], bool]:
    with db.read() as session:
        return read_page(session, practice_id, after, limit)


@staff_route(router, GET_CHANGES, responses={401: {"model": ErrorBody}})
async def get_changes(
    request: Request,
    state: State,
    staff: CurrentStaff,
    after: Annotated[int, Query(ge=0, description="Last seq already applied.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGES_LIMIT)] = 1000,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for a change when none."),
    ] = 0,
) -> Response:
    """Changes of the caller's practice after ``after``, in sequence order.

    With ``wait`` and nothing new, the call returns as soon as a change arrives, or an empty page
    when the wait is over.
    """
    loop = asyncio.get_running_loop()
    notifier = state.notifier
    notifier.bind_if_unbound(loop)
    deadline = loop.time() + wait
    recheck = state.config.longpoll_recheck_seconds
    while True:
        # Take the wake-up event before reading, so a change committed in between still wakes us.
        event = notifier.event_for(staff.practice_id)
        items, more = await run_in_threadpool(_read, state.db, staff.practice_id, after, limit)
        remaining = deadline - loop.time()
        if items or remaining <= 0 or notifier.closed:
            break
        # Also re-read on a timer: other worker processes cannot set our in-process event.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), min(recheck, remaining))
        if await request.is_disconnected():
            break
    return Response(page_json(items, after, more), media_type="application/json")
