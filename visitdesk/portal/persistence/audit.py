"""The append-only, hash-chained audit trail (one chain per practice).

Each event stores ``row_hash = SHA-256(prev_hash + "\\n" + canonical content)``, where the
canonical content is the event's fields as JSON with sorted keys. Changing, removing or
reordering any row breaks the chain at that row, which :func:`verify` reports. The chain's head
(``audit_heads``) is locked while appending, so a practice's events get consecutive numbers.

Events name who did what to which record, by id. They never carry a code, a password or an answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.models_registration import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64
ActorKind = Literal["staff", "patient", "system"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str = ""
    name: str = ""
    #: The desk the staff member acted from (the name it sends); kept in the event's details.
    workstation: str = ""


SYSTEM = Actor("system")


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def canonical(event: AuditEvent) -> bytes:
    content = {
        "practice_id": event.practice_id,
        "seq": int(event.seq),
        "occurred_at": _iso(event.occurred_at),
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "subject_kind": event.subject_kind,
        "subject_id": event.subject_id,
        "patient_id": event.patient_id,
        "details": json.loads(event.details),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(event)).hexdigest()


def _head(session: Session, practice_id: str) -> AuditHead:
    head = session.get(AuditHead, practice_id, with_for_update=True)
    if head is not None:
        return head
    try:
        with session.begin_nested():
            session.add(AuditHead(practice_id=practice_id, last_seq=0, last_hash=GENESIS_HASH))
    except IntegrityError:
        pass  # created by a concurrent writer; lock theirs
    head = session.get(AuditHead, practice_id, with_for_update=True, populate_existing=True)
    assert head is not None
    return head


def record(
    session: Session,
    practice_id: str,
    actor: Actor,
    action: str,
    subject_kind: str,
    subject_id: str,
    *,
    patient_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction."""
    head = _head(session, practice_id)
    event = AuditEvent(
        practice_id=practice_id,
        seq=head.last_seq + 1,
        # Stored without sub-microsecond precision on every backend, so hashing is stable.
        occurred_at=utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        subject_kind=subject_kind,
        subject_id=subject_id,
        patient_id=patient_id,
        details=json.dumps(
            {
                **dict(details or {}),
                **({"workstation": actor.workstation} if actor.workstation else {}),
            },
            sort_keys=True,
            separators=(",", ":"),
        ),
        prev_hash=head.last_hash,
    )
    event.row_hash = chain_hash(head.last_hash, event)
    session.add(event)
    head.last_seq = event.seq
    head.last_hash = event.row_hash
    session.flush()
    return event


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    #: The first event whose content or link does not verify (None when ok).
    broken_at_seq: int | None = None
    reason: str = ""


def verify(session: Session, practice_id: str) -> Verification:
    """Recompute the practice's chain from the first event; report the first broken link."""
    prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.practice_id == practice_id)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    for event in rows:
        if event.seq != expected_seq:
            return Verification(False, checked, expected_seq, "an event is missing")
        if event.prev_hash != prev:
            return Verification(
                False, checked, event.seq, "the link to the previous event is broken"
            )
        if chain_hash(prev, event) != event.row_hash:
            return Verification(False, checked, event.seq, "the event was changed")
        prev = event.row_hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, practice_id)
    if head is not None and (head.last_seq != checked or head.last_hash != prev):
        return Verification(False, checked, checked + 1, "events after this one were removed")
    return Verification(True, checked)
