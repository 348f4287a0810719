"""Wire models of the audit trail as managers read it: events, signed heads, verification."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field

from visitdesk.api.wire import AwareDatetime, Wire

#: Most events one page carries.
MAX_AUDIT_PAGE = 1000


class AuditEventOut(Wire):
    seq: int
    occurred_at: datetime
    actor_kind: str = Field(description="staff, patient or system.")
    actor_id: str
    actor_name: str
    workstation: str
    action: str = Field(description="What happened, e.g. 'link.revoked', 'checkin.status'.")
    subject_kind: str
    subject_id: str
    patient_id: str | None
    patient_name: str = Field(description="The patient concerned ('' when none).")
    details: dict[str, Any] = Field(description="Ids and facts; never a code, answer or message.")
    prev_hash: str
    row_hash: str


class AuditPage(Wire):
    events: list[AuditEventOut] = Field(description="Newest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; None on the last page."
    )


class AuditHeadOut(Wire):
    """The newest event the portal verified and signed."""

    seq: int
    row_hash: str
    signature: str = Field(description="Base64 Ed25519 signature of the checkpoint message.")
    public_key: str = Field(description="Base64 raw Ed25519 public key of the portal.")
    signed_at: datetime


class AuditVerification(Wire):
    ok: bool
    checked: int = Field(description="Events that verified before the first break.")
    broken_at_seq: int | None = Field(description="The first event that does not verify.")
    reason: str
    checkpoints: int = Field(description="Signed checkpoints checked.")


def checkpoint_message(practice_id: str, seq: int, row_hash: str) -> bytes:
    """What the portal signs for a head of a practice's chain (both sides build it)."""
    return f"visitdesk-audit-head\n{practice_id}\n{seq}\n{row_hash}".encode()


def verify_signature(public_key: str, message: bytes, signature: str) -> bool:
    """Whether `signature` (base64) signs `message` under `public_key` (base64, raw 32 bytes)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


class DeskEvent(Wire):
    """Something done on the desk alone that belongs on the portal's audit trail (a statement
    run is rendered and printed at the workstation). Counts and dates only: no patient data."""

    action: Literal["statement.run"]
    occurred_at: AwareDatetime
    run_id: Annotated[int, Field(ge=1, le=2**62)] = Field(description="The desk's run number.")
    statement_count: Annotated[int, Field(ge=0, le=10_000_000)]
    statement_date: date


class DeskEventRecorded(Wire):
    seq: int
