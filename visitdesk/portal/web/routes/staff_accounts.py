"""Staff passwords: change one's own; a manager resets another's to a one-time password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from visitdesk.api.commands import CHANGE_OWN_PASSWORD, RESET_STAFF_PASSWORD
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_accounts import StaffPasswordChange, StaffPasswordReset
from visitdesk.portal.accounts import staff_passwords
from visitdesk.portal.persistence import audit
from visitdesk.portal.web.bodies import AUTH_BODY_LIMIT, PortalRoute
from visitdesk.portal.web.deps import (
    StaffPrincipal,
    State,
    require_roles,
    staff_changing_password,
)
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff accounts"])


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in codes}


@staff_route(
    router,
    CHANGE_OWN_PASSWORD,
    max_body_size=AUTH_BODY_LIMIT,
    status_code=204,
    responses=_errors(401, 422, 429),
)
def change_password(
    body: StaffPasswordChange,
    state: State,
    staff: Annotated[StaffPrincipal, Depends(staff_changing_password)],
) -> Response:
    """Change your own password; your other sessions end. The one call a session whose password
    a manager reset may make."""
    staff_passwords.change_own(
        state.db, state.security, state.config, staff.staff_id, staff.session_id, body
    )
    return Response(status_code=204)


@staff_route(
    router,
    RESET_STAFF_PASSWORD,
    status_code=201,
    responses=_errors(401, 403, 404, 422),
)
def reset_password(
    staff_id: Annotated[str, Path(max_length=64)],
    state: State,
    manager: Annotated[StaffPrincipal, Depends(require_roles(Role.MANAGER))],
) -> StaffPasswordReset:
    """Give another staff member a one-time password (shown once), to be changed at sign-in.

    Not replayable by Idempotency-Key: the answer holds a password, which is never stored.
    """
    actor = audit.Actor("staff", manager.staff_id, manager.name)
    return staff_passwords.reset_other(
        state.db, state.security, actor, manager.practice_id, staff_id
    )
