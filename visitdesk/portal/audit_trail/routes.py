"""Staff routes of the audit trail (office managers only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.commands import AUDIT_HEAD, LIST_AUDIT, RECORD_DESK_EVENT, VERIFY_AUDIT
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_audit import (
    MAX_AUDIT_PAGE,
    AuditHeadOut,
    AuditPage,
    AuditVerification,
    DeskEvent,
    DeskEventRecorded,
)
from visitdesk.portal.audit_trail import trail
from visitdesk.portal.audit_trail.signing import AuditSigner
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    PortalState,
    StaffPrincipal,
    StaffWriter,
    State,
    require_roles,
    staff_writer,
)
from visitdesk.portal.web.errors import NotFound
from visitdesk.portal.web.routes.commands import staff_route

router = APIRouter(route_class=PortalRoute, tags=["staff audit trail"])

ManagerReader = Annotated[StaffPrincipal, Depends(require_roles(Role.MANAGER))]
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


def _signer(state: PortalState) -> AuditSigner:
    assert state.audit_signer is not None, "the app loads the audit key at start"
    return state.audit_signer


@staff_route(router, LIST_AUDIT, responses=_ERRORS)
def list_audit(
    staff: ManagerReader,
    state: State,
    person: Annotated[str, Query(max_length=200)] = "",
    patient: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: date | None = None,
    until: date | None = None,
    seq: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 200,
) -> AuditPage:
    """The practice's audit events, newest first, filtered by person (actor name), patient
    (name or MRN), action (exact, or a prefix ending in '.') and calendar days."""
    with state.db.read() as session:
        return trail.list_events(
            session,
            staff.practice_id,
            person=person,
            patient=patient,
            action=action,
            since=since,
            until=until,
            seq=seq,
            before=before,
            limit=limit,
        )


@staff_route(
    router,
    AUDIT_HEAD,
    responses={**_ERRORS, 404: {"model": ErrorBody}},
)
def audit_head(staff: ManagerReader, state: State) -> AuditHeadOut:
    """The newest verified head of the chain, signed with the portal's audit key (kept outside
    the database). A desk remembers it and checks later heads still extend it."""
    with state.db.write() as session:
        head = trail.signed_head(session, staff.practice_id, _signer(state))
    if head is None:
        raise NotFound("The audit trail of this practice is empty.")
    return head


@staff_route(router, VERIFY_AUDIT, responses=_ERRORS)
def verify_audit(staff: ManagerReader, state: State) -> AuditVerification:
    """Recompute the whole chain and check every signed checkpoint; names the first event that
    does not verify."""
    with state.db.read() as session:
        return trail.verify_all(session, staff.practice_id, _signer(state))


Biller = Annotated[StaffWriter, Depends(staff_writer(Role.BILLING, Role.MANAGER))]


@staff_route(
    router,
    RECORD_DESK_EVENT,
    status_code=201,
    responses={**_ERRORS, 400: {"model": ErrorBody}},
)
def record_desk_event(body: DeskEvent, writer: Biller) -> Response:
    """Put a statement run made at the desk on the audit trail (who, when, which workstation,
    how many statements); the desk sends it through its outbox."""

    def apply(session: Session) -> Outcome:
        event = audit.record(
            session,
            writer.staff.practice_id,
            writer.staff.actor,
            body.action,
            "statement_run",
            str(body.run_id),
            details={
                "statement_count": body.statement_count,
                "statement_date": body.statement_date.isoformat(),
                "desk_time": body.occurred_at.isoformat(),
            },
        )
        return Outcome(201, DeskEventRecorded(seq=event.seq))

    return writer.run(body, apply)
