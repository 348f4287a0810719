"""Staff sessions: sign in, rotate the refresh token, sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.portal import idempotency, sessions
from visitdesk.portal.deps import RequiredKey, State, Writer, client_address, workstation_name
from visitdesk.portal.idempotency import Outcome
from visitdesk.sync.wire import ErrorBody, RefreshRequest, SessionCreate, SessionTokens

router = APIRouter(prefix="/sessions", tags=["staff sessions"])

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Wrong credentials or invalid refresh token"},
    429: {"model": ErrorBody, "description": "Too many failed attempts; see Retry-After"},
}


@router.post("", response_model=SessionTokens, responses=_ERRORS)
def create_session(body: SessionCreate, request: Request, state: State) -> SessionTokens:
    """Sign in with the practice code, username and password."""
    return sessions.sign_in(
        state.db,
        state.security,
        state.config,
        body,
        client_address(request),
        workstation_name(request.headers.get("X-Workstation")),
    )


@router.post("/refresh", response_model=SessionTokens, responses=_ERRORS)
def refresh_session(body: RefreshRequest, state: State) -> SessionTokens:
    """Trade a refresh token for new tokens. Each refresh token works once; reuse ends the session."""
    return sessions.refresh(state.db, state.security, state.config, body.refresh_token)


def _sign_out_key(key: RequiredKey = None) -> str | None:
    return idempotency.check_key(key, required=True)


@router.delete(
    "/current",
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
    found = sessions.practice_of_refresh_token(state.db, body.refresh_token)
    if found is None:
        return Response(status_code=204)
    practice_id, session_id = found
    writer = Writer(state.db, f"staff:{practice_id}", key, request.method, request.url.path)

    def apply(session: Session) -> Outcome:
        sessions.revoke_session(session, session_id, "signed out")
        return Outcome(204)

    return writer.run(body, apply)
