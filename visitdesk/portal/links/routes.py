"""Staff routes of the linked-accounts audit (office managers only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import (
    LIST_LINKS,
    LOCK_ACCOUNT,
    READ_REVIEW_SETTINGS,
    REVIEW_LINKS,
    REVOKE_LINK,
    UNLOCK_ACCOUNT,
    WRITE_REVIEW_SETTINGS,
)
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_links import (
    MAX_LINK_PAGE,
    AccountLock,
    LinkPage,
    LinkRevoke,
    LinkState,
    ReviewList,
    ReviewSettings,
)
from visitdesk.portal.links import actions, listing, review
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    StaffPrincipal,
    StaffWriter,
    State,
    require_roles,
    staff_writer,
)
from visitdesk.portal.web.notify import Notice, send_notice
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff linked accounts"])

Manager = Annotated[StaffWriter, Depends(staff_writer(Role.MANAGER))]
ManagerReader = Annotated[StaffPrincipal, Depends(require_roles(Role.MANAGER))]
Id = Annotated[str, Path(max_length=64)]

_READ_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    422: {"model": ErrorBody},
}
_WRITE_ERRORS: dict[int | str, dict[str, object]] = {
    **_READ_ERRORS,
    400: {"model": ErrorBody},
    404: {"model": ErrorBody},
}


def _actor(writer: StaffWriter) -> audit.Actor:
    return writer.staff.actor


@staff_route(router, LIST_LINKS, responses=_READ_ERRORS)
def list_links(
    staff: ManagerReader,
    state: State,
    q: Annotated[str, Query(max_length=200)] = "",
    status: LinkState = "all",
    after: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LINK_PAGE)] = 200,
) -> LinkPage:
    """Portal accounts linked to patients of the practice, `limit` accounts per page in name
    order, each with its links; `q` keeps links where every word is the start of the account
    holder's first or last name, email or username, or of the patient's first or last name or
    MRN (case does not matter)."""
    with state.db.read() as session:
        return listing.list_links(
            session, staff.practice_id, search=q, state=status, after=after, limit=limit
        )


@staff_route(router, REVIEW_LINKS, responses=_READ_ERRORS)
def review_links(staff: ManagerReader, state: State) -> ReviewList:
    """Links and accounts the practice's review rules flag, with the reason in words."""
    with state.db.read() as session:
        return review.review(session, staff.practice_id, state.clock.now())


@staff_route(router, READ_REVIEW_SETTINGS, responses=_READ_ERRORS)
def read_review_settings(staff: ManagerReader, state: State) -> ReviewSettings:
    with state.db.read() as session:
        return review.read_settings(session, staff.practice_id)


@staff_route(router, WRITE_REVIEW_SETTINGS, responses=_WRITE_ERRORS)
def write_review_settings(body: ReviewSettings, writer: Manager) -> Response:
    """Change the thresholds of the review rules."""

    def apply(session: Session) -> Outcome:
        review.write_settings(session, writer.staff.practice_id, body)
        audit.record(
            session,
            writer.staff.practice_id,
            _actor(writer),
            "settings.link_review",
            "practice",
            writer.staff.practice_id,
            details=body.model_dump(),
        )
        return Outcome(200, body)

    return writer.run(body, apply)


@staff_route(router, REVOKE_LINK, responses=_WRITE_ERRORS)
def revoke_link(link_id: Id, body: LinkRevoke, writer: Manager, state: State) -> Response:
    """End the account's access to the patient now; the account holder is emailed (no PHI)."""
    notices: list[Notice | None] = []

    def apply(session: Session) -> Outcome:
        row, notice = actions.revoke_link(
            session, writer.staff.practice_id, _actor(writer), link_id, body.reason
        )
        notices.append(notice)
        return Outcome(200, row)

    response = writer.run(body, apply)
    for notice in notices:
        send_notice(state.messenger, notice)
    return response


@staff_route(router, LOCK_ACCOUNT, responses=_WRITE_ERRORS)
def lock_account(account_id: Id, body: AccountLock, writer: Manager) -> Response:
    """Lock a portal account: its tokens are refused from the next call, sign-in fails."""

    def apply(session: Session) -> Outcome:
        return Outcome(
            200,
            actions.set_lock(
                session,
                writer.staff.practice_id,
                _actor(writer),
                account_id,
                locked=True,
                reason=body.reason,
            ),
        )

    return writer.run(body, apply)


@staff_route(router, UNLOCK_ACCOUNT, responses=_WRITE_ERRORS)
def unlock_account(account_id: Id, writer: Manager) -> Response:
    def apply(session: Session) -> Outcome:
        return Outcome(
            200,
            actions.set_lock(
                session, writer.staff.practice_id, _actor(writer), account_id, locked=False
            ),
        )

    return writer.run(None, apply)
