"""Staff sessions: sign in, rotate the refresh token, sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import REFRESH_SESSION, SIGN_IN, SIGN_OUT
from visitdesk.api.wire import ErrorBody, RefreshRequest, SessionCreate, SessionTokens
from visitdesk.portal.accounts import sessions
from visitdesk.portal.accounts.flows import sign_in
from visitdesk.portal.persistence import idempotency
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import AUTH_BODY_LIMIT, PortalRoute
from visitdesk.portal.web.deps import (
    RequiredKey,
    State,
    Writer,
    client_address,
    staff_scope,
    workstation_name,
)
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff sessions"])

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Wrong credentials or invalid refresh token"},
    429: {"model": ErrorBody, "description": "Too many failed attempts; see Retry-After"},
}


@staff_route(router, SIGN_IN, max_body_size=AUTH_BODY_LIMIT, responses=_ERRORS)
def create_session(body: SessionCreate, request: Request, state: State) -> SessionTokens:
    """Sign in with the practice code, username and password."""
    return sign_in.staff_sign_in(
        state.db,
        state.security,
        state.config,
        body,
        client_address(request),
        workstation_name(request.headers.get("X-Workstation")),
    )


@staff_route(router, REFRESH_SESSION, max_body_size=AUTH_BODY_LIMIT, responses=_ERRORS)
def refresh_session(body: RefreshRequest, state: State) -> SessionTokens:
    """Trade a refresh token for new tokens. Each refresh token works once; reuse ends the session."""
    return sign_in.refresh(state.db, state.security, state.config, body.refresh_token)


def _sign_out_key(key: RequiredKey = None) -> str | None:
    return idempotency.check_key(key, required=True)


@staff_route(
    router,
    SIGN_OUT,
    max_body_size=AUTH_BODY_LIMIT,
    status_code=204,
    responses={400: {"model": ErrorBody, "description": "Missing Idempotency-Key"}},
)
def delete_session(
    body: RefreshRequest,
    request: Request,
    state: State,
    key: Annotated[str | None, Depends(_sign_out_key)],
) -> Response:
    """Sign out: revoke the session the refresh token belongs to (every token rotated from it)."""
    with state.db.read() as session:
        found = sessions.practice_of_refresh_token(session, body.refresh_token)
    if found is None:
        return Response(status_code=204)
    practice_id, staff_id, session_id = found
    scope = staff_scope(practice_id, staff_id)
    writer = Writer(state.db, scope, key, request.method, request.url.path)

    def apply(session: Session) -> Outcome:
        sessions.revoke_session(session, session_id, "signed out")
        return Outcome(204)

    return writer.run(body, apply)
