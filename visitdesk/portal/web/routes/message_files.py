"""HTTP pieces shared by the patient and staff message routes: streamed file responses.

Body sizes are each route's ``max_body_size`` (the message routes allow a longest message, the
upload route a largest attachment); a larger body is refused with 413 before it is read."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.responses import StreamingResponse

from visitdesk.api.wire_messages import AttachmentOut
from visitdesk.portal.messages import attachments
from visitdesk.portal.persistence.db import Database


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
