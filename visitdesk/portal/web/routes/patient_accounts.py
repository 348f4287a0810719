"""The patient's account upkeep: sign out, change password, forgot password, recovery."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from visitdesk.api.wire import ErrorBody, PatientSession
from visitdesk.api.wire_accounts import (
    ForgotPassword,
    PasswordChange,
    PasswordReset,
    PasswordResetDone,
    RecoveryAnswers,
    RecoveryQuestions,
    RecoveryQuestionsRequest,
    RecoveryStarted,
    RecoveryWithCode,
)
from visitdesk.portal.accounts.flows import recovery
from visitdesk.portal.web.bodies import AUTH_BODY_LIMIT, PortalRoute
from visitdesk.portal.web.deps import CurrentPatient, State, client_address

router = APIRouter(route_class=PortalRoute, tags=["patient accounts"])


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in codes}


@router.delete("/sessions/current", status_code=204, responses=_errors(401))
def sign_out(state: State, patient: CurrentPatient) -> Response:
    """Sign out: this session's access token stops working at once."""
    recovery.sign_out(state.db, patient.account_id, patient.session_id)
    return Response(status_code=204)


@router.post(
    "/account/password",
    max_body_size=AUTH_BODY_LIMIT,
    response_model=PatientSession,
    responses=_errors(401, 422),
)
def change_password(body: PasswordChange, state: State, patient: CurrentPatient) -> PatientSession:
    """Change the password: every session of the account ends; the answer is a new one."""
    return recovery.change_password(
        state.db, state.security, state.config, patient.account_id, body
    )


@router.post(
    "/accounts/password-reset",
    max_body_size=AUTH_BODY_LIMIT,
    status_code=202,
    response_model=RecoveryStarted,
    responses=_errors(422),
)
def forgot_password(body: ForgotPassword, state: State) -> RecoveryStarted:
    """Forgot password: a single-use link (valid one hour) goes to the address if it has an
    account. The answer is the same either way."""
    return recovery.forgot_password(state.db, state.config, state.messenger, body)


@router.post(
    "/accounts/password-reset/confirm",
    max_body_size=AUTH_BODY_LIMIT,
    response_model=PasswordResetDone,
    responses=_errors(422),
)
def reset_password(body: PasswordReset, state: State) -> PasswordResetDone:
    """Choose a new password with the emailed token; every session of the account ends."""
    return recovery.reset_password(state.db, state.security, body)


@router.post(
    "/accounts/recovery/questions",
    max_body_size=AUTH_BODY_LIMIT,
    response_model=RecoveryQuestions,
    responses=_errors(422),
)
def recovery_questions(body: RecoveryQuestionsRequest, state: State) -> RecoveryQuestions:
    """The three security questions of a username account (a username without an account gets
    three questions too, so the answer reveals nothing)."""
    return recovery.recovery_questions(state.db, state.config, body.username)


@router.post(
    "/accounts/recovery/answers",
    max_body_size=AUTH_BODY_LIMIT,
    response_model=RecoveryStarted,
    responses=_errors(401, 422, 429),
)
def recover_with_answers(body: RecoveryAnswers, state: State) -> RecoveryStarted:
    """Answer the three questions and choose a new password. A few wrong attempts lock the
    questions; then only a fresh security code from the office recovers the account."""
    return recovery.recover_with_answers(state.db, state.security, state.config, body)


@router.post(
    "/accounts/recovery/code",
    max_body_size=AUTH_BODY_LIMIT,
    response_model=RecoveryStarted,
    responses=_errors(404, 422, 429),
)
def recover_with_code(body: RecoveryWithCode, request: Request, state: State) -> RecoveryStarted:
    """Choose a new password with a fresh security code the office issued for your own record."""
    return recovery.recover_with_code(
        state.db, state.security, state.codes, state.config, body, client_address(request)
    )
