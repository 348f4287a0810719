"""HTTP pieces shared by the patient and staff message routes: size limits, file responses."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Request
from starlette.responses import StreamingResponse

from visitdesk.api.wire_messages import AttachmentOut
from visitdesk.portal.messages import attachments
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.web.errors import BadRequest, PayloadTooLarge


def declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest("Content-Length is not a number.") from exc


def body_limit(limit: int, detail: str) -> Callable[[Request], None]:
    """A dependency refusing bodies declared larger than ``limit`` bytes with a 413 saying ``detail``."""

    def check(request: Request) -> None:
        length = declared_length(request)
        if length is not None and length > limit:
            raise PayloadTooLarge(detail)

    return check


def pieces(db: Database, attachment_id: str) -> Iterator[bytes]:
    """The content in order, one piece per short read: a slow client must not hold a
    connection (or, on SQLite, a read snapshot) for the whole download."""
    index = 0
    while True:
        with db.read() as session:
            data = attachments.piece(session, attachment_id, index)
        if data is None:
            return
        yield data
        index += 1


def streamed(db: Database, found: AttachmentOut) -> StreamingResponse:
    return StreamingResponse(
        pieces(db, found.id),
        media_type=found.content_type,
        headers={
            "Content-Length": str(found.size),
            "Content-Disposition": attachments.disposition(found.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
