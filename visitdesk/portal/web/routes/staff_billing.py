"""The desk's billing calls: bulk upsert of the practice's ledger lines."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import UPSERT_LEDGER, UPSERT_LEDGER_COLUMNS
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_billing import LedgerColumns, LedgerUpsert
from visitdesk.portal.billing import ledger
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import BULK_BODY_LIMIT, PortalRoute
from visitdesk.portal.web.deps import StaffWriter, staff_writer
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff billing"])

Biller = Annotated[StaffWriter, Depends(staff_writer(Role.BILLING, Role.MANAGER))]

#: The refusals a bulk ledger upsert may answer, for the API's description.
_BULK_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Missing Idempotency-Key"},
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@staff_route(
    router,
    UPSERT_LEDGER,
    max_body_size=BULK_BODY_LIMIT,
    responses=_BULK_ANSWERS,
)
def upsert_ledger(body: LedgerUpsert, writer: Biller) -> Response:
    """Create or update ledger lines by the practice system's line id; MRNs must exist here."""

    def apply(session: Session) -> Outcome:
        batch = LedgerColumns.of(body.lines)
        return Outcome(200, ledger.upsert_ledger(session, writer.staff.practice_id, batch))

    return writer.run(body, apply)


@staff_route(
    router,
    UPSERT_LEDGER_COLUMNS,
    max_body_size=BULK_BODY_LIMIT,
    responses=_BULK_ANSWERS,
)
def upsert_ledger_columns(body: LedgerColumns, writer: Biller) -> Response:
    """As PUT /ledger, with the lines in columns: the n-th line is the n-th value of each."""

    def apply(session: Session) -> Outcome:
        return Outcome(200, ledger.upsert_ledger(session, writer.staff.practice_id, body))

    return writer.run(body, apply)
