"""Idempotent execution of mutating calls.

The first successful response per (scope, key) is stored in the same transaction as the call's
effects and replayed for any repeat with the same method, path and body. The key is claimed (row
inserted, ``ON CONFLICT DO NOTHING``) before the effects run, so on PostgreSQL a concurrent
duplicate waits on the unique index until the first commits and then replays it; on SQLite
writers are serialised by BEGIN IMMEDIATE. Claim and completion are one statement each.
Failed calls (4xx) roll back and store nothing: a retry simply runs again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from pydantic import BaseModel
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.feed import at_commit
from visitdesk.portal.persistence.models import IdempotencyRecord, new_id
from visitdesk.portal.web.errors import BadRequest, Conflict, Unprocessable

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
MAX_KEY_LENGTH = 255
_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    """What a call produced: a status code and a wire model (None for an empty body).

    ``replay`` is what a repeat of the key answers instead, for a response that carries a secret
    shown once (a security code): the stored record then never holds the secret.
    """

    status_code: int
    body: BaseModel | None = None
    replay: Outcome | None = None

    def content(self) -> bytes:
        return b"" if self.body is None else self.body.model_dump_json().encode()


@dataclass(frozen=True)
class IdempotentCall:
    scope: str
    key: str
    method: str
    path: str
    request_hash: str


def check_key(value: str | None, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise BadRequest(
                f"This call changes data and needs an {HEADER} header: a unique value "
                "(e.g. a UUID) that you reuse when you retry the same call."
            )
        return None
    if len(value) > MAX_KEY_LENGTH or not value.isascii() or not value.isprintable():
        raise BadRequest(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.")
    return value


def request_hash(body: BaseModel | None) -> str:
    canonical = b"" if body is None else body.model_dump_json().encode()
    return hashlib.sha256(canonical).hexdigest()


def _response(status_code: int, content: bytes, *, replayed: bool = False) -> Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    if status_code == 204:
        return Response(status_code=204, headers=headers)
    return Response(
        content=content, status_code=status_code, media_type="application/json", headers=headers
    )


def execute(
    db: Database,
    call: IdempotentCall | None,
    apply: Callable[[Session], Outcome],
    check: Callable[[Session], None] | None = None,
) -> Response:
    """Run ``apply`` in one write transaction, exactly once per idempotency key. ``check``
    runs first in the same transaction, before a stored answer is replayed."""
    for attempt in range(_ATTEMPTS):
        try:
            with db.write() as session:
                if check is not None:
                    check(session)
                if call is None:
                    outcome = apply(session)
                    return _response(outcome.status_code, outcome.content())
                record_id = _claim(session, call)
                if record_id is None:
                    stored = session.scalar(_LOOKUP, {"scope": call.scope, "key": call.key})
                    if stored is None:
                        continue  # pruned between the two statements: claim it again
                    return _replay(stored, call)
                outcome = apply(session)
                content = outcome.content()
                stored_outcome = outcome.replay or outcome
                at_commit(
                    session,
                    _COMPLETE,
                    {
                        "record_id": record_id,
                        "status_code": stored_outcome.status_code,
                        "response_body": stored_outcome.content().decode(),
                    },
                )
            return _response(outcome.status_code, content)
        except IntegrityError:
            # A concurrent call won a unique constraint (often: the same key). Its transaction has
            # committed, so the next attempt sees its rows or its stored response.
            log.info("write conflict on attempt %d; retrying", attempt + 1)
    raise Conflict("The data changed while this call was running; please retry.")


#: The records as a table: claimed, completed and looked up with statements built once.
_RECORDS = cast(Table, IdempotencyRecord.__table__)
_CLAIM = {
    name: insert(_RECORDS)
    .on_conflict_do_nothing(index_elements=["scope", "key"])
    .returning(_RECORDS.c.id)
    for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
_COMPLETE = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("record_id"))
    .values(status_code=bindparam("status_code"), response_body=bindparam("response_body"))
)
_LOOKUP = select(IdempotencyRecord).where(
    IdempotencyRecord.scope == bindparam("scope"), IdempotencyRecord.key == bindparam("key")
)


def _claim(session: Session, call: IdempotentCall) -> str | None:
    """Insert the key's record; its id, or None when the key is taken. On PostgreSQL a claim
    of a key another transaction has just inserted waits for that one to end, so a None here
    means the holder committed and its response can be read."""
    return session.scalar(
        _CLAIM[session.get_bind().dialect.name],
        {
            "id": new_id(),
            "scope": call.scope,
            "key": call.key,
            "method": call.method,
            "path": call.path,
            "request_hash": call.request_hash,
            "status_code": 0,
            "response_body": "",
            "created_at": utcnow(),
        },
    )


def _replay(stored: IdempotencyRecord, call: IdempotentCall) -> Response:
    if (stored.method, stored.path, stored.request_hash) != (
        call.method,
        call.path,
        call.request_hash,
    ):
        raise Unprocessable(
            f"This {HEADER} was already used for a different request; use a new key for a new call."
        )
    return _response(stored.status_code, stored.response_body.encode(), replayed=True)


def prune(db: Database, older_than: timedelta) -> int:
    """Forget stored responses older than the retention period; returns how many went."""
    with db.write() as session:
        result = session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.created_at < utcnow() - older_than)
            .returning(IdempotencyRecord.id)
        )
        return len(result.all())
