"""Insurance card images: stored a chunk at a time as they arrive, read back a chunk at a time.

An image is typed by its first bytes (PNG or JPEG), whatever the request claims. It belongs to
the account that uploaded it until a change names it; from then on it belongs to the practice of
that change, and only that practice's staff may read it. Images never named by a change are
removed after a day, and an account may hold only a few of them at once, so uploads cannot fill
the portal's disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from visitdesk.api.wire_myinfo import MAX_CARD_BYTES, CardImageUploaded, card_type
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.models_myinfo import CardImage, CardImageChunk
from visitdesk.portal.web.errors import Conflict, NotFound, TooLarge, UnsupportedMedia

#: Bytes per stored chunk (and per read while streaming an image out).
CHUNK_BYTES = 64 * 1024
#: Images an account may hold that no change names yet.
MAX_WAITING_IMAGES = 10
#: How long an image no change names is kept.
UNUSED_IMAGE_LIFETIME = timedelta(days=1)

NOT_AN_IMAGE = "The card picture must be a PNG or JPEG image."
TOO_LARGE = f"The card picture is larger than {MAX_CARD_BYTES // (1024 * 1024)} MB."


def store_card(session: Session, account_id: str, source: BinaryIO) -> CardImageUploaded:
    """Store the image in `source` (a file positioned at its start) for the account."""
    content_type = card_type(source.read(16))
    if content_type is None:
        raise UnsupportedMedia(NOT_AN_IMAGE)
    size = source.seek(0, 2)
    if size > MAX_CARD_BYTES:
        raise TooLarge(TOO_LARGE)
    source.seek(0)
    session.execute(
        delete(CardImage).where(
            CardImage.account_id == account_id,
            CardImage.change_id.is_(None),
            CardImage.created_at < utcnow() - UNUSED_IMAGE_LIFETIME,
        )
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(CardImage)
        .where(CardImage.account_id == account_id, CardImage.change_id.is_(None))
    )
    if (waiting or 0) >= MAX_WAITING_IMAGES:
        raise Conflict(
            "Too many card pictures are waiting to be sent with a change; send your change or "
            "try again tomorrow."
        )
    image = CardImage(account_id=account_id, content_type=content_type, size=size)
    session.add(image)
    session.flush()
    image_id = image.id
    number = 0
    while chunk := source.read(CHUNK_BYTES):
        session.add(CardImageChunk(image_id=image_id, number=number, data=chunk))
        # Written and forgotten chunk by chunk: the session never holds the whole image.
        session.flush()
        session.expunge_all()
        number += 1
    return CardImageUploaded(id=image_id, content_type=content_type, size=size)


def claim_card(session: Session, account_id: str, image_id: str) -> CardImage:
    """An image of the account that no change names yet, locked for naming it."""
    image = session.scalar(
        select(CardImage)
        .where(CardImage.id == image_id, CardImage.account_id == account_id)
        .with_for_update()
    )
    if image is None:
        raise NotFound("No such card picture on this account; upload it first.")
    if image.change_id is not None:
        raise Conflict("This card picture was already sent with another change; upload it again.")
    return image


@dataclass(frozen=True)
class StoredImage:
    id: str
    content_type: str
    size: int
    chunks: int


def practice_card(db: Database, practice_id: str, image_id: str) -> StoredImage:
    """An image named by a change of the practice (404 for any other)."""
    with db.read() as session:
        image = session.get(CardImage, image_id)
        if image is None or image.practice_id != practice_id:
            raise NotFound("No such card image in this practice.")
        chunks = session.scalar(
            select(func.count())
            .select_from(CardImageChunk)
            .where(CardImageChunk.image_id == image_id)
        )
        return StoredImage(image.id, image.content_type, image.size, int(chunks or 0))


def read_chunks(db: Database, image: StoredImage) -> Iterator[bytes]:
    """The image's bytes a chunk at a time, each read in its own short transaction (no
    connection is held while a slow client reads)."""
    for number in range(image.chunks):
        with db.read() as session:
            data = session.scalar(
                select(CardImageChunk.data).where(
                    CardImageChunk.image_id == image.id, CardImageChunk.number == number
                )
            )
        if data is None:
            return
        yield bytes(data)
