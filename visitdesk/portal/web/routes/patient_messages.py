"""The patient's side of secure messages: list, read, start, reply, attach, wait for replies."""

from __future__ import annotations

import asyncio
import tempfile
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from visitdesk.api.wire import ErrorBody
from visitdesk.api.wire_messages import (
    MAX_ATTACHMENT_BYTES,
    MAX_MESSAGE_REQUEST_BYTES,
    MAX_THREAD_WAIT_SECONDS,
    AttachmentOut,
    MessageCreate,
    MessageOut,
    MessagesPage,
    PatientThreadDetail,
    PatientThreadOut,
    ThreadRead,
    ThreadStart,
)
from visitdesk.portal.messages import attachments, threads
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import CurrentPatient, PatientWriter, State, patient_writer
from visitdesk.portal.web.errors import PayloadTooLarge
from visitdesk.portal.web.routes.message_files import streamed

router = APIRouter(route_class=PortalRoute, tags=["patient messages"])

ThreadId = Annotated[str, Path(max_length=64)]
Writer = Annotated[PatientWriter, Depends(patient_writer)]


def _errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in (401, *codes)}


@router.get("/threads", response_model=list[PatientThreadOut], responses=_errors())
def list_threads(state: State, patient: CurrentPatient) -> list[PatientThreadOut]:
    """Threads about every patient linked to this account, newest activity first."""
    with state.db.read() as session:
        return threads.patient_threads(session, patient.account_id)


@router.post(
    "/threads",
    status_code=201,
    response_model=PatientThreadDetail,
    responses=_errors(404, 413, 422),
    max_body_size=MAX_MESSAGE_REQUEST_BYTES,
)
def start_thread(body: ThreadStart, writer: Writer) -> Response:
    """Write to the practice about one linked patient."""

    def apply(session: Session) -> Outcome:
        thread = threads.start_thread(
            session,
            writer.patient.account_id,
            writer.patient.display_name,
            body.patient_id,
            body.topic,
            body.subject,
            body.body,
        )
        return Outcome(201, _detail(session, thread))

    return writer.run(body, apply)


def _detail(session: Session, thread: threads.MessageThread) -> PatientThreadDetail:
    summary = threads.patient_thread_out(thread)
    return PatientThreadDetail(
        **summary.model_dump(), messages=threads.messages_of(session, thread.id)
    )


@router.get("/threads/{thread_id}", response_model=PatientThreadDetail, responses=_errors(404))
def get_thread(thread_id: ThreadId, state: State, patient: CurrentPatient) -> PatientThreadDetail:
    """One thread with all its messages (reading it does not mark it read: see ``/read``)."""
    with state.db.read() as session:
        thread = threads.thread_for_patient(session, patient.account_id, thread_id)
        return _detail(session, thread)


def _page(db: Database, account_id: str, thread_id: str, after: int) -> MessagesPage:
    with db.read() as session:
        thread = threads.thread_for_patient(session, account_id, thread_id)
        return MessagesPage(
            thread=threads.patient_thread_out(thread),
            messages=threads.messages_of(session, thread.id, after),
        )


@router.get("/threads/{thread_id}/messages", response_model=MessagesPage, responses=_errors(404))
async def wait_for_messages(
    thread_id: ThreadId,
    request: Request,
    state: State,
    patient: CurrentPatient,
    after: Annotated[int, Query(ge=0, description="Number of the last message already shown.")] = 0,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_THREAD_WAIT_SECONDS, description="Seconds to wait for a new message."),
    ] = 0,
) -> MessagesPage:
    """Messages after ``after``; with ``wait``, returns as soon as one arrives (the app's chat)."""
    loop = asyncio.get_running_loop()
    notifier = state.notifier
    notifier.bind_if_unbound(loop)
    deadline = loop.time() + wait
    recheck = state.config.longpoll_recheck_seconds
    practice_id = await run_in_threadpool(_thread_practice, state.db, patient.account_id, thread_id)
    # Every message appends to the practice's feed, so the feed's wake-ups are the chat's too.
    with notifier.watch(practice_id) as watch:
        while True:
            page = await run_in_threadpool(_page, state.db, patient.account_id, thread_id, after)
            remaining = deadline - loop.time()
            if page.messages or remaining <= 0 or notifier.closed:
                return page
            await watch.changed(min(recheck, remaining))
            if await request.is_disconnected():
                return page


@router.post(
    "/threads/{thread_id}/messages",
    status_code=201,
    response_model=MessageOut,
    responses=_errors(404, 413, 422),
    max_body_size=MAX_MESSAGE_REQUEST_BYTES,
)
def reply(thread_id: ThreadId, body: MessageCreate, writer: Writer) -> Response:
    """Reply on a thread (a closed thread opens again)."""

    def apply(session: Session) -> Outcome:
        out = threads.patient_reply(
            session,
            writer.patient.account_id,
            writer.patient.display_name,
            thread_id,
            body.body,
            body.attachment_ids,
        )
        return Outcome(201, out)

    return writer.run(body, apply)


@router.post("/threads/{thread_id}/read", response_model=PatientThreadOut, responses=_errors(404))
def mark_read(thread_id: ThreadId, body: ThreadRead, writer: Writer) -> Response:
    """The patient has read the thread up to message ``up_to``."""

    def apply(session: Session) -> Outcome:
        return Outcome(
            200,
            threads.patient_mark_read(session, writer.patient.account_id, thread_id, body.up_to),
        )

    return writer.run(body, apply)


@router.post(
    "/threads/{thread_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    responses=_errors(404, 413, 415),
    max_body_size=MAX_ATTACHMENT_BYTES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("application/pdf", "image/png", "image/jpeg", "application/octet-stream")
            },
        }
    },
)
async def upload_attachment(
    thread_id: ThreadId,
    request: Request,
    state: State,
    patient: CurrentPatient,
    filename: Annotated[str, Query(min_length=1, max_length=255)] = "attachment",
) -> AttachmentOut:
    """Upload a PDF, PNG or JPEG as the raw request body; then name its id in a message."""
    practice_id = await run_in_threadpool(_thread_practice, state.db, patient.account_id, thread_id)
    # Spooled: small files stay in memory, larger ones go to a temporary file, never whole in RAM.
    with tempfile.SpooledTemporaryFile(max_size=attachments.CHUNK_BYTES * 4) as spool:
        size = 0
        async for piece in request.stream():
            size += len(piece)
            if size > MAX_ATTACHMENT_BYTES:
                raise PayloadTooLarge(_too_large())
            spool.write(piece)
        spool.seek(0)
        content_type = attachments.sniff(spool.read(attachments.SNIFF_BYTES))
        spool.seek(0)

        def save() -> AttachmentOut:
            with state.db.write() as session:
                return attachments.store(
                    session,
                    thread_id=thread_id,
                    practice_id=practice_id,
                    uploaded_by=f"patient:{patient.account_id}",
                    filename=attachments.safe_filename(filename, content_type),
                    content_type=content_type,
                    source=spool,  # type: ignore[arg-type]
                )

        return await run_in_threadpool(save)


def _thread_practice(db: Database, account_id: str, thread_id: str) -> str:
    with db.read() as session:
        return attachments.thread_practice_for_patient(session, account_id, thread_id)


def _too_large() -> str:
    return f"The file is too large (at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB)."


@router.get(
    "/threads/{thread_id}/attachments/{attachment_id}",
    responses={200: {"content": {"application/octet-stream": {}}}, **_errors(404)},
    response_class=StreamingResponse,
)
def download_attachment(
    thread_id: ThreadId,
    attachment_id: Annotated[str, Path(max_length=64)],
    state: State,
    patient: CurrentPatient,
) -> StreamingResponse:
    """The attachment's content, streamed."""
    with state.db.read() as session:
        found = attachments.find_for_patient(session, patient.account_id, thread_id, attachment_id)
    return streamed(state.db, found)
