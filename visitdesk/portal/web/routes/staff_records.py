"""Bulk upserts of the practice's patients and appointments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import UPSERT_APPOINTMENTS, UPSERT_PATIENTS
from visitdesk.api.wire import AppointmentUpsert, ErrorBody, PatientUpsert, Role
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.records import records
from visitdesk.portal.web.bodies import BULK_BODY_LIMIT, PortalRoute
from visitdesk.portal.web.deps import StaffWriter, staff_writer
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff records"])

Editor = Annotated[StaffWriter, Depends(staff_writer(Role.FRONT_DESK, Role.MANAGER))]

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Missing Idempotency-Key"},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
}


@staff_route(router, UPSERT_PATIENTS, max_body_size=BULK_BODY_LIMIT, responses=_ERRORS)
def upsert_patients(body: PatientUpsert, writer: Editor) -> Response:
    """Create or update patients by MRN. Only rows that really changed enter the change feed."""

    def apply(session: Session) -> Outcome:
        return Outcome(
            200, records.upsert_patients(session, writer.staff.practice_id, body.patients)
        )

    return writer.run(body, apply)


@staff_route(router, UPSERT_APPOINTMENTS, max_body_size=BULK_BODY_LIMIT, responses=_ERRORS)
def upsert_appointments(body: AppointmentUpsert, writer: Editor) -> Response:
    """Create or update appointments by external id; each MRN must already exist here."""

    def apply(session: Session) -> Outcome:
        result = records.upsert_appointments(session, writer.staff.practice_id, body.appointments)
        return Outcome(200, result)

    return writer.run(body, apply)
