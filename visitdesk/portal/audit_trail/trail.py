"""The audit trail for managers: filtered pages, signed checkpoints, full verification."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from visitdesk.api.wire_audit import AuditEventOut, AuditHeadOut, AuditPage, AuditVerification
from visitdesk.portal.audit_trail.signing import AuditSigner, checkpoint_message
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.clock import day_bounds
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.models import Patient, Practice
from visitdesk.portal.persistence.models_registration import AuditCheckpoint, AuditEvent, AuditHead


def _like(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def event_out(event: AuditEvent, patient: Patient | None) -> AuditEventOut:
    details = json.loads(event.details)
    return AuditEventOut(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_kind=event.actor_kind,
        actor_id=event.actor_id,
        actor_name=event.actor_name,
        workstation=str(details.get("workstation", "")),
        action=event.action,
        subject_kind=event.subject_kind,
        subject_id=event.subject_id,
        patient_id=event.patient_id,
        patient_name="" if patient is None else f"{patient.last_name}, {patient.first_name}",
        details=details,
        prev_hash=event.prev_hash,
        row_hash=event.row_hash,
    )


def list_events(
    session: Session,
    practice_id: str,
    *,
    person: str = "",
    patient: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
    seq: int | None = None,
    before: int | None = None,
    limit: int = 200,
) -> AuditPage:
    """Newest first. `person` is found in the actor's name, `patient` in the patient's name or
    MRN, `action` is an action or its prefix ("link." for every link action); days are the
    practice's calendar days."""
    query = (
        select(AuditEvent, Patient)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .where(AuditEvent.practice_id == practice_id)
    )
    if seq is not None:
        query = query.where(AuditEvent.seq == seq)
    if person.strip():
        query = query.where(
            func.lower(AuditEvent.actor_name).like(_like(person.strip()), escape="\\")
        )
    if patient.strip():
        pattern = _like(patient.strip())
        query = query.where(
            or_(
                func.lower(Patient.first_name + " " + Patient.last_name).like(pattern, escape="\\"),
                func.lower(Patient.last_name + ", " + Patient.first_name).like(
                    pattern, escape="\\"
                ),
                func.lower(Patient.mrn).like(pattern, escape="\\"),
            )
        )
    if action.strip():
        wanted = action.strip()
        query = query.where(
            AuditEvent.action.like(f"{wanted}%")
            if wanted.endswith(".")
            else AuditEvent.action == wanted
        )
    if since is not None or until is not None:
        practice = session.get(Practice, practice_id)
        zone = practice.timezone if practice is not None else "UTC"
        if since is not None:
            query = query.where(AuditEvent.occurred_at >= day_bounds(zone, since)[0])
        if until is not None:
            query = query.where(AuditEvent.occurred_at < day_bounds(zone, until)[1])
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    rows = session.execute(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    events = [event_out(event, row_patient) for event, row_patient in rows]
    return AuditPage(events=events, next_before=events[-1].seq if more and events else None)


def _last_checkpoint(session: Session, practice_id: str) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.practice_id == practice_id)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(1)
    ).first()


def _head_out(checkpoint: AuditCheckpoint, signer: AuditSigner) -> AuditHeadOut:
    return AuditHeadOut(
        seq=checkpoint.seq,
        row_hash=checkpoint.row_hash,
        signature=checkpoint.signature,
        public_key=signer.public_key,
        signed_at=checkpoint.signed_at,
    )


def _links_from(session: Session, practice_id: str, start_seq: int, start_hash: str) -> str | None:
    """The hash of the newest event if every event after `start_seq` links on from
    `start_hash` and its own content, else None."""
    prev, expected = start_hash, start_seq + 1
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.practice_id == practice_id, AuditEvent.seq > start_seq)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    for event in rows:
        if event.seq != expected or event.prev_hash != prev:
            return None
        if audit.chain_hash(prev, event) != event.row_hash:
            return None
        prev, expected = event.row_hash, expected + 1
    return prev


def signed_head(session: Session, practice_id: str, signer: AuditSigner) -> AuditHeadOut | None:
    """Sign the current head if the events since the last checkpoint extend it; returns the
    newest checkpoint (None: no events yet, or the new events do not extend the last one, in
    which case the last good checkpoint stays the newest)."""
    head = session.get(AuditHead, practice_id)
    last = _last_checkpoint(session, practice_id)
    if head is None or head.last_seq == 0:
        return None
    if last is not None and last.seq >= head.last_seq:
        return _head_out(last, signer)
    start_seq, start_hash = (0, audit.GENESIS_HASH) if last is None else (last.seq, last.row_hash)
    if last is not None:
        anchor = session.get(AuditEvent, (practice_id, last.seq))
        if anchor is None or anchor.row_hash != last.row_hash:
            return _head_out(last, signer)
    newest = _links_from(session, practice_id, start_seq, start_hash)
    if newest is None or newest != head.last_hash:
        return _head_out(last, signer) if last is not None else None
    checkpoint = AuditCheckpoint(
        practice_id=practice_id,
        seq=head.last_seq,
        row_hash=newest,
        signature=signer.sign(checkpoint_message(practice_id, head.last_seq, newest)),
        signed_at=utcnow(),
    )
    session.add(checkpoint)
    session.flush()
    return _head_out(checkpoint, signer)


def verify_all(session: Session, practice_id: str, signer: AuditSigner) -> AuditVerification:
    """Recompute the whole chain, then check that every signed checkpoint is genuine and that
    the chain still passes through it (a chain rewritten consistently does not)."""
    chain = audit.verify(session, practice_id)
    checkpoints = list(
        session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.practice_id == practice_id)
            .order_by(AuditCheckpoint.seq)
        )
    )
    if not chain.ok:
        return AuditVerification(
            ok=False,
            checked=chain.checked,
            broken_at_seq=chain.broken_at_seq,
            reason=chain.reason,
            checkpoints=0,
        )
    for number, checkpoint in enumerate(checkpoints):
        message = checkpoint_message(practice_id, checkpoint.seq, checkpoint.row_hash)
        if not signer.verifies(message, checkpoint.signature):
            return AuditVerification(
                ok=False,
                checked=chain.checked,
                broken_at_seq=checkpoint.seq,
                reason="a signed checkpoint was altered (its signature does not verify)",
                checkpoints=number,
            )
        event = session.get(AuditEvent, (practice_id, checkpoint.seq))
        if event is None or event.row_hash != checkpoint.row_hash:
            first = _first_after(checkpoints, number)
            return AuditVerification(
                ok=False,
                checked=chain.checked,
                broken_at_seq=first,
                reason=(
                    f"the chain was rewritten: it no longer passes through the head signed at "
                    f"event {checkpoint.seq}"
                ),
                checkpoints=number,
            )
    return AuditVerification(
        ok=True,
        checked=chain.checked,
        broken_at_seq=None,
        reason="",
        checkpoints=len(checkpoints),
    )


def _first_after(checkpoints: list[AuditCheckpoint], number: int) -> int:
    """The first event that can have been rewritten: just after the last checkpoint that holds."""
    return 1 if number == 0 else checkpoints[number - 1].seq + 1
