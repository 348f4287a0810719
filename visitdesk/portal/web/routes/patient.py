"""The patient API (the app and web portal): sessions, linked patients, appointments, I'm Here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.wire import (
    CheckInOut,
    ErrorBody,
    LinkedPatient,
    PatientAppointment,
    PatientCheckInCreate,
    PatientSession,
    PatientSignIn,
)
from visitdesk.portal.accounts import patient_side
from visitdesk.portal.accounts.flows import sign_in
from visitdesk.portal.checkins import arrivals
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import AUTH_BODY_LIMIT, PortalRoute
from visitdesk.portal.web.deps import (
    DashboardPatient,
    PatientWriter,
    State,
    client_address,
    patient_writer,
)

router = APIRouter(route_class=PortalRoute, tags=["patient"])

_AUTH_ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorBody}}


@router.post(
    "/sessions",
    max_body_size=AUTH_BODY_LIMIT,
    response_model=PatientSession,
    responses={401: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
def create_session(body: PatientSignIn, request: Request, state: State) -> PatientSession:
    """Sign in with an email address or username and password."""
    return sign_in.patient_sign_in(
        state.db, state.security, state.config, body, client_address(request)
    )


@router.get("/patients", response_model=list[LinkedPatient], responses=_AUTH_ERRORS)
def list_patients(state: State, patient: DashboardPatient) -> list[LinkedPatient]:
    """The patients this account is linked to (self and family)."""
    with state.db.read() as session:
        return patient_side.linked_patients(session, patient.account_id)


@router.get("/appointments", response_model=list[PatientAppointment], responses=_AUTH_ERRORS)
def list_appointments(state: State, patient: DashboardPatient) -> list[PatientAppointment]:
    """Today's and upcoming appointments of the linked patients."""
    with state.db.read() as session:
        return patient_side.appointments(session, patient.account_id)


@router.post(
    "/checkins",
    status_code=201,
    response_model=CheckInOut,
    responses={
        200: {
            "model": CheckInOut,
            "description": "Already checked in today: the existing check-in",
        },
        401: {"model": ErrorBody},
        404: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
def im_here(
    body: PatientCheckInCreate, writer: Annotated[PatientWriter, Depends(patient_writer)]
) -> Response:
    """I'm Here: tell the office a linked patient has arrived. Accepted inside the arrival window
    of today's appointment; otherwise 422 says in plain words to see the front desk (and the
    desk is shown the attempt)."""

    def apply(session: Session) -> Outcome:
        result = arrivals.tap_im_here(
            session, writer.patient.account_id, body.patient_id, body.appointment_id
        )
        if result.checkin is None:
            # An answer, not an error: the attempt is kept (committed) for the desk to see.
            return Outcome(422, ErrorBody(detail=result.refusal or ""))
        return Outcome(201 if result.created else 200, result.checkin)

    return writer.run(body, apply)
