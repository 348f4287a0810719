"""Issuing, revoking and reissuing security codes on the portal, for the desk; no Qt here.

Issuing needs the portal's answer (the code itself), so these calls go to the portal at once
instead of through the outbox; they block and run off the GUI thread. Offline, they raise the
client's `PortalOffline` and the screen says so; nothing is recorded as if it had happened.

Revoking goes to the portal at once too: a revoked code must stop working now, and the desk
should not show "revoked" for a code a patient could still use because the request is waiting
in the outbox while the workstation is offline.

Every answer (`SecurityCodeOut`) is written to the local list at once; the change feed brings the
same snapshot a moment later. The full code is returned to the caller and never stored or logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from visitdesk.api.commands import (
    ISSUE_SECURITY_CODE,
    LIST_SECURITY_CODES,
    REISSUE_SECURITY_CODE,
    REVOKE_SECURITY_CODE,
    check_id,
)
from visitdesk.api.wire_registration import (
    SecurityCodeCreate,
    SecurityCodeIssued,
    SecurityCodeOut,
)
from visitdesk.desktop.models import codes
from visitdesk.sync.errors import Rejected

log = logging.getLogger(__name__)


@dataclass
class SecurityCodeService:
    """The portal calls of the Security Codes screen. `client` is the session's PortalClient."""

    client: Any
    store: Any  # LocalStore
    staff_name: str

    def issue(self, request: SecurityCodeCreate, idempotency_key: str) -> SecurityCodeIssued:
        """Issue a code. Retrying after a lost answer must reuse `idempotency_key`: the portal
        then answers 409 (it keeps no copy of the code), and the code it issued the first time is
        reissued, so the patient never holds a code nobody has seen."""
        try:
            issued: SecurityCodeIssued = self.client.call(
                ISSUE_SECURITY_CODE, body=request, idempotency_key=idempotency_key
            )
        except Rejected as error:
            if error.status != 409:
                raise
            lost = self._lost_code(request)
            if lost is None:
                raise
            log.info("Reissuing a code whose first answer was lost")
            return self.reissue(lost, f"{idempotency_key}.reissue")
        codes.record_codes(self.store, [issued.security_code])
        log.info("Security code issued (%s)", request.purpose)
        return issued

    def revoke(self, code_id: str, idempotency_key: str) -> SecurityCodeOut:
        revoked: SecurityCodeOut = self.client.call(
            REVOKE_SECURITY_CODE, {"code_id": code_id}, idempotency_key=idempotency_key
        )
        codes.record_codes(self.store, [revoked])
        log.info("Security code revoked")
        return revoked

    def reissue(self, code_id: str, idempotency_key: str) -> SecurityCodeIssued:
        """Revoke `code_id` and issue a new code for the same patient and purpose."""
        issued: SecurityCodeIssued = self.client.call(
            REISSUE_SECURITY_CODE, {"code_id": code_id}, idempotency_key=idempotency_key
        )
        codes.record_codes(self.store, [issued.security_code])
        codes.record_revoked(self.store, code_id, issued.security_code.issued_at)
        log.info("Security code reissued")
        return issued

    def _lost_code(self, request: SecurityCodeCreate) -> str | None:
        """The code this staff member just issued for the request whose answer was lost."""
        active: list[SecurityCodeOut] = self.client.call(
            LIST_SECURITY_CODES,
            query={"patient_id": check_id(request.patient_id), "status": "active"},
        )
        candidates = [
            code
            for code in active
            if code.issued_by == self.staff_name
            and code.purpose == request.purpose
            and code.relationship == request.relationship
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda c: c.issued_at).id

