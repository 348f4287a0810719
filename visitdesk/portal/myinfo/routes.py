"""myInfo's routes: the patient submits changes and card images; the front desk and managers
review them.

Staff ids are checked against the caller's practice (404); a patient sees only the account's own
changes and may name only the account's own images and linked patients (404 otherwise). A card
image is received into a spooled temporary file (memory up to a small size, disk beyond it) and
stored a chunk at a time; it is read back the same way.
"""

from __future__ import annotations

import tempfile
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from visitdesk.api.commands import (
    DECIDE_DEMOGRAPHIC_CHANGE,
    GET_CARD_IMAGE,
    GET_DEMOGRAPHIC_CHANGE,
    LIST_DEMOGRAPHIC_CHANGES,
)
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_myinfo import (
    MAX_CARD_BYTES,
    MAX_CHANGE_LIST,
    CardImageUploaded,
    ChangeStatus,
    DemographicChangeDetail,
    DemographicChangeOut,
    DemographicChangeSubmit,
    DemographicDecision,
    PatientDemographicChange,
)
from visitdesk.portal.myinfo import cards, changes
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    DashboardPatient,
    PatientWriter,
    StaffPrincipal,
    StaffWriter,
    State,
    patient_writer,
    require_roles,
    staff_writer,
)
from visitdesk.portal.web.errors import BadRequest, TooLarge
from visitdesk.portal.web.routes.commands import staff_route

staff_router = APIRouter(route_class=PortalRoute, tags=["staff myInfo"])
patient_router = APIRouter(route_class=PortalRoute, tags=["patient myInfo"])

DeskReader = Annotated[StaffPrincipal, Depends(require_roles(Role.FRONT_DESK, Role.MANAGER))]
Desk = Annotated[StaffWriter, Depends(staff_writer(Role.FRONT_DESK, Role.MANAGER))]
Id = Annotated[str, Path(max_length=64)]
#: Received bytes stay in memory up to this size, then go to a temporary file.
_SPOOL_BYTES = 256 * 1024


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


_IMAGE_CONTENT = {
    "image/png": {"schema": {"type": "string", "format": "binary"}},
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
}


# --------------------------------------------------------------------------- staff


@staff_route(staff_router, LIST_DEMOGRAPHIC_CHANGES, responses=_errors(401, 403, 422))
def list_changes(
    staff: DeskReader,
    state: State,
    status: ChangeStatus = "pending",
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGE_LIST)] = 200,
) -> list[DemographicChangeOut]:
    """The practice's changes waiting for review (oldest first) or decided (newest first)."""
    with state.db.read() as session:
        return changes.list_changes(session, staff.practice_id, status, limit)


@staff_route(staff_router, GET_DEMOGRAPHIC_CHANGE, responses=_errors(401, 403, 404, 422))
def get_change(change_id: Id, staff: DeskReader, state: State) -> DemographicChangeDetail:
    """One change with the record's current value of each of its fields."""
    with state.db.read() as session:
        return changes.detail(session, staff.practice_id, change_id)


@staff_route(
    staff_router,
    GET_CARD_IMAGE,
    response_class=StreamingResponse,
    responses={
        200: {"description": "The image (PNG or JPEG)", "content": _IMAGE_CONTENT},
        **_errors(401, 403, 404, 422),
    },
)
def get_card_image(image_id: Id, staff: DeskReader, state: State) -> StreamingResponse:
    """An insurance card image sent with one of the practice's changes, streamed."""
    image = cards.practice_card(state.db, staff.practice_id, image_id)
    return StreamingResponse(
        cards.read_chunks(state.db, image),
        media_type=image.content_type,
        headers={"Content-Length": str(image.size), "Content-Disposition": "inline"},
    )


@staff_route(
    staff_router, DECIDE_DEMOGRAPHIC_CHANGE, responses=_errors(400, 401, 403, 404, 409, 422)
)
def decide_change(change_id: Id, body: DemographicDecision, writer: Desk) -> Response:
    """Accept or reject each field of a change: accepted values change the patient's record
    and insurance at once; the patient sees each field's outcome."""

    def apply(session: Session) -> Outcome:
        out = changes.decide(session, writer.staff.practice_id, writer.staff.actor, change_id, body)
        return Outcome(200, out)

    return writer.run(body, apply)


# --------------------------------------------------------------------------- patient


def _store(db: Database, account_id: str, spool: tempfile.SpooledTemporaryFile[bytes]) -> Any:
    with db.write() as session:
        return cards.store_card(session, account_id, spool)  # type: ignore[arg-type]


@patient_router.post(
    "/insurance-cards",
    status_code=201,
    response_model=CardImageUploaded,
    max_body_size=MAX_CARD_BYTES,
    openapi_extra={"requestBody": {"required": True, "content": _IMAGE_CONTENT}},
    responses=_errors(400, 401, 403, 409, 413, 415),
)
async def upload_card(request: Request, state: State, patient: DashboardPatient) -> Any:
    """Upload a picture of the insurance card (PNG or JPEG, up to 5 MB); name its id in a change."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_CARD_BYTES:
                    raise TooLarge(cards.TOO_LARGE)
                spool.write(chunk)
        except ClientDisconnect:
            # Nobody is left to answer; an interrupted upload is not the portal's error.
            raise BadRequest("The upload was interrupted; send the picture again.") from None
        spool.seek(0)
        return await run_in_threadpool(_store, state.db, patient.account_id, spool)


@patient_router.post(
    "/demographic-changes",
    status_code=201,
    response_model=PatientDemographicChange,
    responses=_errors(401, 403, 404, 409, 422),
)
def submit_change(
    body: DemographicChangeSubmit, writer: Annotated[PatientWriter, Depends(patient_writer)]
) -> Response:
    """myInfo: ask the practice to change a linked patient's address, phone, email or
    insurance. Staff review each field; the outcome shows in the list below."""

    def apply(session: Session) -> Outcome:
        return Outcome(201, changes.submit(session, writer.patient.account_id, body))

    return writer.run(body, apply)


@patient_router.get(
    "/demographic-changes",
    response_model=list[PatientDemographicChange],
    responses=_errors(401, 403),
)
def list_own_changes(state: State, patient: DashboardPatient) -> list[PatientDemographicChange]:
    """The account's myInfo changes, newest first, with the outcome of each field."""
    with state.db.read() as session:
        return changes.account_changes(session, patient.account_id)
