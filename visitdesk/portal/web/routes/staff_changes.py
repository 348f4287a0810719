"""The change feed, with long-polling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from visitdesk.api.commands import GET_CHANGES
from visitdesk.api.wire import (
    FEED_LEVEL_HEADER,
    FEED_LEVEL_OF_BATCH,
    MAX_CHANGES_LIMIT,
    MAX_SEQ,
    MAX_WAIT_SECONDS,
    OUTBOX_DEPTH_HEADER,
    ErrorBody,
    Role,
)
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import FeedPage, page_json, read_page
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import FeedStaff, State
from visitdesk.portal.web.errors import UpgradeRequired
from visitdesk.portal.web.observability import (
    LONGPOLLS,
    observe_delivery,
    record_outbox_depth,
)
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff changes"])


#: What each role's screens show, and so all its feed may carry (least privilege: the front desk
#: never receives ledgers or payments, billing never receives codes or registrations).
FEED_KINDS: dict[Role, frozenset[str] | None] = {
    Role.FRONT_DESK: frozenset(
        {
            "patient",
            "appointment",
            "checkin",
            "arrival_attempt",
            "checkin_settings",
            "registration",
            "security_code",
            "demographic_change",
            "insurance",
            "thread",
            "thread_message",
            "quick_texts",
        }
    ),
    Role.BILLING: frozenset(
        {"patient", "ledger_line", "ledger_lines", "ledger_columns", "payment"}
    ),
    Role.MANAGER: None,
}


def _read(
    db: Database, practice_id: str, after: int, limit: int, kinds: frozenset[str] | None
) -> FeedPage:
    with db.read() as session:
        return read_page(session, practice_id, after, limit, kinds)


@staff_route(router, GET_CHANGES, responses={401: {"model": ErrorBody}, 426: {"model": ErrorBody}})
async def get_changes(
    request: Request,
    state: State,
    staff: FeedStaff,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Last seq already applied.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGES_LIMIT)] = 1000,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            allow_inf_nan=False,
            description="Seconds to wait for a change when none.",
        ),
    ] = 0,
) -> Response:
    """Changes of the caller's practice after ``after``, in sequence order, of the kinds the
    caller's role may see (front desk: patients, appointments, check-ins, registrations,
    security codes, myInfo changes and insurance; billing: patients, ledger lines and payments; manager: all).

    With ``wait`` and nothing new, the call returns as soon as a change arrives, or an empty page
    when the wait is over.
    """
    db = state.db

    async def read(practice_id: str, since: int, count: int) -> FeedPage:
        # Every kind: one read may answer desks of several roles. The connection is taken and
        # given back inside the thread: none is held while waiting.
        return await run_in_threadpool(_read, db, practice_id, since, count, None)

    record_outbox_depth(staff.practice_id, request.headers.get(OUTBOX_DEPTH_HEADER))
    LONGPOLLS.inc()
    try:
        page = await state.notifier.wait(
            staff.practice_id,
            after,
            limit,
            timeout=wait,
            recheck=state.config.longpoll_recheck_seconds,
            read=read,
            gone=request.is_disconnected,
            kinds=FEED_KINDS[staff.role],
            pace=state.config.longpoll_pace_seconds,
            pace_per_desk=state.config.longpoll_pace_per_desk_seconds,
        )
    finally:
        LONGPOLLS.dec()
    if wait:
        observe_delivery(page.items)
    needed = max(
        (FEED_LEVEL_OF_BATCH[i.kind] for i in page.items if i.kind in FEED_LEVEL_OF_BATCH),
        default=0,
    )
    if needed and _level_read(request) < needed:
        raise UpgradeRequired(
            "This VisitDesk is older than the portal and cannot read its change feed any more; "
            "install the current VisitDesk on this workstation to go on syncing."
        )
    return Response(page_json(page), media_type="application/json")


def _level_read(request: Request) -> int:
    """The feed level the desk reads (1 when it says none): a desk reading a lower level than a
    batch item's would skip it as a kind it does not know."""
    level = request.headers.get(FEED_LEVEL_HEADER, "")
    return int(level) if level.isdecimal() and len(level) < 6 else 1
