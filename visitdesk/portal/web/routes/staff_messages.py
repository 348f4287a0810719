"""The desk's side of secure messages: reply, assign, close, mark read, colleagues, files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from visitdesk.api.commands import (
    ASSIGN_THREAD,
    CLOSE_THREAD,
    DOWNLOAD_ATTACHMENT,
    LIST_COLLEAGUES,
    MARK_THREAD_READ,
    READ_QUICK_TEXTS,
    REPLY_TO_THREAD,
    WRITE_QUICK_TEXTS,
)
from visitdesk.api.wire import ErrorBody, Role
from visitdesk.api.wire_messages import (
    MAX_MESSAGE_REQUEST_BYTES,
    AuthorKind,
    Colleague,
    MessageCreate,
    QuickTextSet,
    ThreadAssign,
    ThreadOut,
    ThreadRead,
)
from visitdesk.portal.messages import attachments, quick_texts, threads
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.idempotency import REPLAYED_HEADER, Outcome
from visitdesk.portal.web.announce import announce_reply
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    StaffPrincipal,
    StaffWriter,
    State,
    require_roles,
    staff_writer,
)
from visitdesk.portal.web.routes.commands import staff_route
from visitdesk.portal.web.routes.message_files import streamed

router = APIRouter(route_class=PortalRoute, tags=["staff messages"])

_INBOX = (Role.FRONT_DESK, Role.MANAGER)
Desk = Annotated[StaffWriter, Depends(staff_writer(*_INBOX))]
DeskReader = Annotated[StaffPrincipal, Depends(require_roles(*_INBOX))]
Manager = Annotated[StaffWriter, Depends(staff_writer(Role.MANAGER))]
ThreadId = Annotated[str, Path(max_length=64)]


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in (400, 401, 403, *codes)}


def _audit(
    session: Session,
    writer: StaffWriter,
    action: str,
    thread: ThreadOut,
    details: dict[str, object] | None = None,
) -> None:
    audit.record(
        session,
        writer.staff.practice_id,
        writer.staff.actor,
        action,
        "thread",
        thread.id,
        patient_id=thread.patient_id,
        details=details,
    )


@staff_route(
    router,
    REPLY_TO_THREAD,
    status_code=201,
    responses=_errors(404, 413, 422),
    max_body_size=MAX_MESSAGE_REQUEST_BYTES,
)
def reply(thread_id: ThreadId, body: MessageCreate, writer: Desk, state: State) -> Response:
    """Reply to the patient; they are told (without PHI) that a message is waiting."""
    sent: list[threads.StaffReply] = []

    def apply(session: Session) -> Outcome:
        author = threads.Author(AuthorKind.STAFF, writer.staff.name, staff_id=writer.staff.staff_id)
        result = threads.staff_reply(
            session,
            writer.staff.practice_id,
            thread_id,
            author,
            body.body,
            body.attachment_ids,
            body.client_id,
        )
        sent.append(result)
        # Who answered which patient's thread, and when; never the words.
        audit.record(
            session,
            writer.staff.practice_id,
            writer.staff.actor,
            "message.replied",
            "thread",
            thread_id,
            patient_id=result.patient_id,
            details={"attachments": len(body.attachment_ids)},
        )
        return Outcome(201, result.message)

    response = writer.run(body, apply)
    # Only after the commit, and never for a replayed retry: one notice per real reply.
    if sent and sent[0].announce and REPLAYED_HEADER not in response.headers:
        announce_reply(state.db, state.messenger, sent[0].account_id, sent[0].patient_id)
    return response


@staff_route(router, ASSIGN_THREAD, responses=_errors(404))
def assign(thread_id: ThreadId, body: ThreadAssign, writer: Desk) -> Response:
    """Say who is on a thread (or return it to Unassigned with ``staff_id: null``)."""

    def apply(session: Session) -> Outcome:
        thread = threads.assign(session, writer.staff.practice_id, thread_id, body.staff_id)
        _audit(session, writer, "message.assigned", thread, {"to": body.staff_id})
        return Outcome(200, thread)

    return writer.run(body, apply)


@staff_route(router, CLOSE_THREAD, responses=_errors(404))
def close(thread_id: ThreadId, writer: Desk) -> Response:
    """Close a thread; the patient writing again opens it."""

    def apply(session: Session) -> Outcome:
        thread = threads.close(session, writer.staff.practice_id, thread_id)
        _audit(session, writer, "message.closed", thread)
        return Outcome(200, thread)

    return writer.run(None, apply)


@staff_route(router, MARK_THREAD_READ, responses=_errors(404))
def mark_read(thread_id: ThreadId, body: ThreadRead, writer: Desk) -> Response:
    """The practice has read the thread up to message ``up_to`` (shared by every workstation)."""

    def apply(session: Session) -> Outcome:
        return Outcome(
            200,
            threads.staff_mark_read(session, writer.staff.practice_id, thread_id, body.up_to),
        )

    return writer.run(body, apply)


@staff_route(router, LIST_COLLEAGUES, responses=_errors())
def list_colleagues(state: State, staff: DeskReader) -> list[Colleague]:
    """Staff a thread can be assigned to."""
    with state.db.read() as session:
        rows = threads.colleagues(session, staff.practice_id)
    return [Colleague(id=i, name=n, role=r) for i, n, r in rows]


@staff_route(
    router,
    DOWNLOAD_ATTACHMENT,
    responses={200: {"content": {"application/octet-stream": {}}}, **_errors(404)},
    response_class=StreamingResponse,
)
def download_attachment(
    thread_id: ThreadId,
    attachment_id: Annotated[str, Path(max_length=64)],
    state: State,
    staff: DeskReader,
) -> StreamingResponse:
    """An attachment's content, streamed."""
    with state.db.read() as session:
        found = attachments.find_for_staff(session, staff.practice_id, thread_id, attachment_id)
    return streamed(state.db, found)


@staff_route(router, READ_QUICK_TEXTS, responses=_errors())
def read_quick_texts(state: State, staff: DeskReader) -> QuickTextSet:
    """The practice's quick texts (the defaults until a manager saves a set)."""
    with state.db.read() as session:
        return quick_texts.read(session, staff.practice_id)


@staff_route(router, WRITE_QUICK_TEXTS, responses=_errors(422))
def write_quick_texts(body: QuickTextSet, writer: Manager) -> Response:
    """Replace the practice's quick texts; every desk receives them through the feed."""

    def apply(session: Session) -> Outcome:
        return Outcome(
            200, quick_texts.write(session, writer.staff.practice_id, writer.staff.actor, body)
        )

    return writer.run(body, apply)
