"""Security codes: finding the patient, the desk's list, issuing, revoking and reissuing on the
portal, and the code slip.

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
from dataclasses import replace

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
from visitdesk.desktop.models import codes, patient_search
from visitdesk.desktop.models.codes import SecurityCodeRow
from visitdesk.desktop.models.patient_search import SearchResult
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.base import StoreOps, SyncKick
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.reports.code_slip import CodeSlip, render_code_slip
from visitdesk.sync.client import PortalClient
from visitdesk.sync.errors import PortalOffline, Rejected

log = logging.getLogger(__name__)


class PatientOps(StoreOps):
    """Finding a patient in the local records (the search boxes of several screens)."""

    def search(self, text: str) -> Op[SearchResult]:
        def run() -> SearchResult:
            with self.store.read() as session:
                return patient_search.search_patients(session, text)

        return self.runner.op(run)


class CodeOps(StoreOps):
    """The Security Codes screen's work. `client` is the session's PortalClient (None offline)."""

    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        sync: SyncKick,
        *,
        client: PortalClient | None,
        staff_name: str,
    ) -> None:
        super().__init__(runner, store, sync)
        self.client = client
        self.staff_name = staff_name

    # ---- the list and the slip

    def load(self, status: str | None, patient_id: str | None) -> Op[list[SecurityCodeRow]]:
        def run() -> list[SecurityCodeRow]:
            with self.store.read() as session:
                return codes.list_codes(session, status=status, patient_id=patient_id)

        return self.runner.op(run)

    def code_slip(self, slip: CodeSlip) -> Op[bytes]:
        """Render a code slip PDF in memory, off the GUI thread; the portal's address (where
        patients open it in a browser) is filled in from the local store."""

        def render() -> bytes:
            meta = self.store.practice()
            address = "" if meta is None else meta.portal_url
            return render_code_slip(replace(slip, portal_address=address))

        return self.runner.op(render)

    # ---- portal calls

    def issue(self, request: SecurityCodeCreate, idempotency_key: str) -> Op[SecurityCodeIssued]:
        return self.runner.op(self._issue, request, idempotency_key)

    def revoke(self, code_id: str, idempotency_key: str) -> Op[SecurityCodeOut]:
        return self.runner.op(self._revoke, code_id, idempotency_key)

    def reissue(self, code_id: str, idempotency_key: str) -> Op[SecurityCodeIssued]:
        return self.runner.op(self._reissue, code_id, idempotency_key)

    def _portal(self) -> PortalClient:
        if self.client is None:
            raise PortalOffline()
        return self.client

    def _record(self, code: SecurityCodeOut, replaced: str | None = None) -> None:
        """Keep the portal's answer at once, so the list shows it before the feed brings it.
        `replaced`: the code a reissue revoked (the answer names only the new one)."""
        with self.store.write() as uow:
            codes.upsert_codes(uow.session, [code])
            if replaced is not None:
                codes.mark_revoked(uow.session, replaced, code.issued_at)

    def _issue(self, request: SecurityCodeCreate, idempotency_key: str) -> SecurityCodeIssued:
        """Issue a code. Retrying after a lost answer must reuse `idempotency_key`: the portal
        then answers 409 (it keeps no copy of the code), and the code it issued the first time is
        reissued, so the patient never holds a code nobody has seen."""
        try:
            issued: SecurityCodeIssued = self._portal().call(
                ISSUE_SECURITY_CODE, body=request, idempotency_key=idempotency_key
            )
        except Rejected as error:
            if error.status != 409:
                raise
            lost = self._lost_code(request)
            if lost is None:
                raise
            log.info("Reissuing a code whose first answer was lost")
            return self._reissue(lost, f"{idempotency_key}.reissue")
        self._record(issued.security_code)
        log.info("Security code issued (%s)", request.purpose)
        return issued

    def _revoke(self, code_id: str, idempotency_key: str) -> SecurityCodeOut:
        revoked: SecurityCodeOut = self._portal().call(
            REVOKE_SECURITY_CODE, {"code_id": code_id}, idempotency_key=idempotency_key
        )
        self._record(revoked)
        log.info("Security code revoked")
        return revoked

    def _reissue(self, code_id: str, idempotency_key: str) -> SecurityCodeIssued:
        """Revoke `code_id` and issue a new code for the same patient and purpose."""
        issued: SecurityCodeIssued = self._portal().call(
            REISSUE_SECURITY_CODE, {"code_id": code_id}, idempotency_key=idempotency_key
        )
        self._record(issued.security_code, replaced=code_id)
        log.info("Security code reissued")
        return issued

    def _lost_code(self, request: SecurityCodeCreate) -> str | None:
        """The code this staff member just issued for the request whose answer was lost."""
        active: list[SecurityCodeOut] = self._portal().call(
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
