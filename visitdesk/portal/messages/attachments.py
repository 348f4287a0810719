"""Attachments: recognised from their first bytes, stored and served in 64 KiB pieces.

The name a patient gives a file says nothing about what it is: a ``.pdf`` can be a program. The
type comes from the content's signature alone, and the stored name gets the matching extension.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from typing import BinaryIO
from urllib.parse import quote

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from visitdesk.api.wire_messages import AttachmentOut
from visitdesk.portal.messages.threads import (
    attachment_out,
    thread_for_patient,
    thread_for_staff,
)
from visitdesk.portal.persistence.models_messages import AttachmentChunk, MessageAttachment
from visitdesk.portal.web.errors import NotFound, UnsupportedMediaType

CHUNK_BYTES = 64 * 1024
#: Bytes needed to recognise every accepted type.
SNIFF_BYTES = 8

_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
_EXTENSIONS = {content_type: ext for _sig, content_type, ext in _SIGNATURES}
_UNSAFE_NAME = re.compile(r"[\\/:*?\"<>|]")


def sniff(head: bytes) -> str:
    """The content type from a file's first bytes; refuses anything not PDF, PNG or JPEG."""
    for signature, content_type, _ext in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    raise UnsupportedMediaType(
        "This file is not a PDF, PNG or JPEG image (judged by its content, not its name)."
    )


def safe_filename(raw: str, content_type: str) -> str:
    """A display name without paths, control or direction-changing characters, ending in the
    extension of what the file really is."""
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem[:150] or "attachment"
    return stem + _EXTENSIONS[content_type]


def store(
    session: Session,
    *,
    thread_id: str,
    practice_id: str,
    uploaded_by: str,
    filename: str,
    content_type: str,
    source: BinaryIO,
) -> AttachmentOut:
    """Copy ``source`` into the chunk table piece by piece, in the caller's transaction."""
    digest = hashlib.sha256()
    size = 0
    row = MessageAttachment(
        thread_id=thread_id,
        practice_id=practice_id,
        uploaded_by=uploaded_by,
        filename=filename,
        content_type=content_type,
        size=0,
        sha256="",
    )
    session.add(row)
    session.flush()
    index = 0
    while piece := source.read(CHUNK_BYTES):
        digest.update(piece)
        size += len(piece)
        session.execute(
            insert(AttachmentChunk), [{"attachment_id": row.id, "index": index, "data": piece}]
        )
        index += 1
    row.size, row.sha256 = size, digest.hexdigest()
    session.flush()
    return attachment_out(row)


def thread_practice_for_patient(session: Session, account_id: str, thread_id: str) -> str:
    return thread_for_patient(session, account_id, thread_id).practice_id


def find_for_patient(
    session: Session, account_id: str, thread_id: str, attachment_id: str
) -> AttachmentOut:
    thread_for_patient(session, account_id, thread_id)
    return _find(session, thread_id, attachment_id)


def find_for_staff(
    session: Session, practice_id: str, thread_id: str, attachment_id: str
) -> AttachmentOut:
    thread_for_staff(session, practice_id, thread_id)
    return _find(session, thread_id, attachment_id)


def _find(session: Session, thread_id: str, attachment_id: str) -> AttachmentOut:
    row = session.scalar(
        select(MessageAttachment).where(
            MessageAttachment.id == attachment_id, MessageAttachment.thread_id == thread_id
        )
    )
    if row is None:
        raise NotFound("No such attachment on this thread.")
    return attachment_out(row)


def piece(session: Session, attachment_id: str, index: int) -> bytes | None:
    """Piece ``index`` of the content, None past the end."""
    data = session.scalar(
        select(AttachmentChunk.data).where(
            AttachmentChunk.attachment_id == attachment_id, AttachmentChunk.index == index
        )
    )
    return None if data is None else bytes(data)


def disposition(filename: str) -> str:
    """A Content-Disposition that always downloads, with the name encoded per RFC 6266."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
