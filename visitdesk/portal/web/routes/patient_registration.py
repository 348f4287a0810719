"""The patient API's registration flows, one endpoint per step.

1. Register by email: ``POST /accounts/email`` (then sign in with ``POST /sessions``).
2. Register by username with a security code: ``POST /accounts/username``; then the three
   security questions: ``GET /security-questions``, ``POST /account/security-questions``.
3. Connect to a practice: ``POST /connect`` -> Safe Health Code to the record's contact, or the
   practice's registration queue; ``POST /connect/{id}/verify``; ``DELETE /connect/{id}``.
4. Link a family member with a "link" security code: ``POST /links``.
5. The account: ``GET /account``, ``GET /patients/{id}``, ``GET /registrations``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from visitdesk.api.wire import ErrorBody, LinkedPatient, PatientSession
from visitdesk.api.wire_registration import (
    AccountDetails,
    ConnectRequest,
    ConnectStarted,
    EmailConfirmation,
    EmailRegistration,
    LinkRequest,
    PatientRegistration,
    RegistrationAccepted,
    SafeHealthCodeEntry,
    SecurityAnswers,
    SecurityQuestion,
    SecurityQuestionsStatus,
    UsernameRegistration,
)
from visitdesk.portal.accounts import patient_side
from visitdesk.portal.accounts.account_rules import SECURITY_QUESTIONS
from visitdesk.portal.accounts.flows import connect, registration
from visitdesk.portal.web.bodies import AUTH_BODY_LIMIT, PortalRoute
from visitdesk.portal.web.deps import CurrentPatient, DashboardPatient, State, client_address

router = APIRouter(route_class=PortalRoute, tags=["patient registration"])

Id = Annotated[str, Path(max_length=64)]


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in codes}


@router.post(
    "/accounts/email",
    max_body_size=AUTH_BODY_LIMIT,
    status_code=202,
    response_model=RegistrationAccepted,
    responses=_errors(422, 429),
)
def register_by_email(body: EmailRegistration, state: State) -> RegistrationAccepted:
    """Step 1: create an account with name, email and password; Terms & Conditions required.

    The answer is the same whether or not the email already has an account (an existing one gets
    a "someone tried to register" email instead). Then sign in with ``POST /sessions``; confirming
    the email is not needed to continue.
    """
    return registration.register_by_email(
        state.db, state.security, state.config, state.messenger, body
    )


@router.post(
    "/account/email-confirmation",
    max_body_size=AUTH_BODY_LIMIT,
    status_code=204,
    responses=_errors(422),
)
def confirm_email(body: EmailConfirmation, state: State) -> Response:
    """Confirm the account's email address with the token from the confirmation email."""
    with state.db.write() as session:
        patient_side.confirm_email(session, body.token)
    return Response(status_code=204)


@router.post(
    "/account/email-confirmation/resend", status_code=202, responses=_errors(401, 409, 422, 429)
)
def resend_confirmation(state: State, patient: CurrentPatient) -> Response:
    """Send a new confirmation email to the account's address."""
    registration.resend_confirmation(state.db, state.config, state.messenger, patient.account_id)
    return Response(status_code=202)


@router.post(
    "/accounts/username",
    max_body_size=AUTH_BODY_LIMIT,
    status_code=201,
    response_model=PatientSession,
    responses=_errors(404, 409, 422, 429),
)
def register_by_username(
    body: UsernameRegistration, request: Request, state: State
) -> PatientSession:
    """Step 2: create a username account with the security code from the office.

    The first and last name must match the code's patient record (case, accents and extra spaces
    do not matter). Without an email the client must send ``email_choice: "proceed_without"``.
    The answer is a signed-in session; next, set the three security questions.
    """
    return registration.register_by_username(
        state.db,
        state.security,
        state.codes,
        state.config,
        state.messenger,
        body,
        client_address(request),
    )


@router.get("/security-questions", response_model=list[SecurityQuestion])
def list_security_questions() -> list[SecurityQuestion]:
    """The fixed list of security questions to pick three from."""
    return list(SECURITY_QUESTIONS)


@router.get("/account", response_model=AccountDetails, responses=_errors(401))
def get_account(state: State, patient: CurrentPatient) -> AccountDetails:
    """The signed-in account: email (and whether confirmed), username, security questions."""
    with state.db.read() as session:
        return patient_side.account_details(session, patient.account_id)


@router.get(
    "/account/security-questions", response_model=SecurityQuestionsStatus, responses=_errors(401)
)
def get_security_questions(state: State, patient: CurrentPatient) -> SecurityQuestionsStatus:
    """Whether the questions are set, and which (never the answers)."""
    with state.db.read() as session:
        return patient_side.questions_status(session, patient.account_id)


@router.post(
    "/account/security-questions",
    status_code=201,
    response_model=SecurityQuestionsStatus,
    responses=_errors(401, 409, 422),
)
def set_security_questions(
    body: SecurityAnswers, state: State, patient: CurrentPatient
) -> SecurityQuestionsStatus:
    """Set exactly three different questions with their answers, once: they cannot be changed."""
    return registration.set_security_questions(state.db, state.security, patient.account_id, body)


@router.post("/connect", response_model=ConnectStarted, responses=_errors(401, 404, 422, 429, 503))
def start_connect(body: ConnectRequest, state: State, patient: DashboardPatient) -> ConnectStarted:
    """Step 3: connect the account to a practice's patient record.

    One record matching name and date of birth (and phone/ZIP when given): a Safe Health Code
    goes to the email or phone on that record (outcome ``code_sent``); otherwise the request
    waits in the practice's registration queue (outcome ``queued``).
    """
    return connect.start_connect(
        state.db, state.codes, state.config, state.messenger, patient.account_id, body
    )


@router.post(
    "/connect/{connect_id}/verify",
    status_code=201,
    response_model=LinkedPatient,
    responses=_errors(401, 404, 409, 422, 429),
)
def verify_connect(
    connect_id: Id, body: SafeHealthCodeEntry, state: State, patient: DashboardPatient
) -> LinkedPatient:
    """Enter the Safe Health Code: the patient is connected to the account."""
    return connect.verify_connect(
        state.db, state.codes, state.config, patient.account_id, connect_id, body.code
    )


@router.delete("/connect/{connect_id}", status_code=204, responses=_errors(401, 404))
def cancel_connect(connect_id: Id, state: State, patient: DashboardPatient) -> Response:
    """Leave the connect flow: the code stops working and nothing is connected."""
    with state.db.write() as session:
        patient_side.cancel_connect(session, patient.account_id, connect_id)
    return Response(status_code=204)


@router.post(
    "/links",
    status_code=201,
    response_model=LinkedPatient,
    responses=_errors(401, 404, 409, 422, 429),
)
def link_family_member(
    body: LinkRequest, request: Request, state: State, patient: DashboardPatient
) -> LinkedPatient:
    """Step 4: link a family member with a "link" security code from the office."""
    return connect.link_family_member(
        state.db, state.codes, state.config, patient.account_id, body, client_address(request)
    )


@router.get("/registrations", response_model=list[PatientRegistration], responses=_errors(401))
def list_registrations(state: State, patient: DashboardPatient) -> list[PatientRegistration]:
    """This account's registrations waiting for (or decided by) an office."""
    with state.db.read() as session:
        return patient_side.account_registrations(session, patient.account_id)


@router.get("/patients/{patient_id}", response_model=LinkedPatient, responses=_errors(401, 404))
def get_patient(patient_id: Id, state: State, patient: DashboardPatient) -> LinkedPatient:
    """One linked patient (404 for any patient not linked to this account)."""
    with state.db.read() as session:
        return patient_side.linked_patient_of(session, patient.account_id, patient_id)
