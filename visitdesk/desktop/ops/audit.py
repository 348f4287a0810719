"""The audit trail (office managers): pages of events, Verify, exports, and the signed head this
workstation remembers.

The portal signs the chain's head with a key it keeps outside its database. This desk keeps the
last signed head it saw (and the portal's public key, from the first time) in its local store.
Each later head must carry a good signature under that key, and the chain must still hold the
remembered event with the remembered hash. Someone who rewrote the portal's database, even one
who also took the key, cannot make the chain extend a head the desk saw before the rewrite.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from visitdesk.api.commands import AUDIT_HEAD, LIST_AUDIT, VERIFY_AUDIT
from visitdesk.api.wire_audit import (
    MAX_AUDIT_PAGE,
    AuditEventOut,
    AuditHeadOut,
    AuditPage,
    AuditVerification,
    checkpoint_message,
    verify_signature,
)
from visitdesk.desktop.models import state
from visitdesk.desktop.models.store import LocalStore
from visitdesk.desktop.ops.base import first_rows, printed_by
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.reports.csv_export import csv_bytes
from visitdesk.reports.table_report import TableReport, render_table_report
from visitdesk.sync.client import PortalClient
from visitdesk.sync.errors import NotFound, PortalOffline

log = logging.getLogger(__name__)

HEAD_KEY = "audit_signed_head"
PDF_MAX_ROWS = 5000
COLUMNS = ("When", "Who", "Workstation", "Action", "Patient", "Record", "Event")

#: What the action filter offers: a label and an action prefix (ending in '.') or exact action.
ACTION_FILTERS: tuple[tuple[str, str], ...] = (
    ("Every action", ""),
    ("Security codes", "security_code."),
    ("Registrations", "registration."),
    ("myInfo changes", "demographic_change."),
    ("Links", "link."),
    ("Portal accounts", "account."),
    ("Check-ins", "checkin."),
    ("Messages", "message."),
    ("Sign-ins and staff changes", "staff."),
    ("Statement runs", "statement."),
    ("Practice settings", "settings."),
)


#: Actions in words; an action not listed shows as the portal names it.
ACTION_LABELS = {
    "account.locked": "Portal account locked",
    "account.registered": "Portal account registered",
    "account.unlocked": "Portal account unlocked",
    "checkin.status": "Check-in status changed",
    "connect.code_sent": "Safe Health Code sent",
    "connect.connected": "Connected with a Safe Health Code",
    "demographic_change.decided": "myInfo change decided",
    "demographic_change.submitted": "myInfo change sent by the patient",
    "link.created": "Patient linked to an account",
    "link.revoked": "Link revoked",
    "message.assigned": "Portal message assigned",
    "message.closed": "Portal message closed",
    "message.replied": "Portal message answered",
    "registration.matched": "Registration matched",
    "registration.queued": "Registration queued",
    "registration.rejected": "Registration rejected",
    "security_code.failed_attempt": "Security code: wrong attempt",
    "security_code.issued": "Security code issued",
    "security_code.locked": "Security code locked",
    "security_code.revoked": "Security code revoked",
    "security_code.revoked_after_use": "Used security code revoked",
    "security_code.used": "Security code used",
    "settings.link_review": "Review rules changed",
    "settings.quick_texts": "Quick texts changed",
    "staff.session_ended": "Staff session ended",
    "staff.signed_in": "Signed in",
    "staff.signed_out": "Signed out",
    "staff.created": "Staff member added",
    "staff.role_changed": "Staff role changed",
    "staff.disabled": "Staff member disabled",
    "staff.enabled": "Staff member enabled",
    "statement.run": "Statement run",
}


def action_words(event: AuditEventOut) -> str:
    words = ACTION_LABELS.get(event.action, event.action)
    status = event.details.get("status")
    return f"{words}: {status}" if event.action == "checkin.status" and status else words


@dataclass(frozen=True)
class AuditFilter:
    person: str = ""
    patient: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None

    def params(self) -> dict[str, str]:
        values = {
            "person": self.person.strip(),
            "patient": self.patient.strip(),
            "action": self.action,
        }
        out = {key: value for key, value in values.items() if value}
        if self.since is not None:
            out["since"] = self.since.isoformat()
        if self.until is not None:
            out["until"] = self.until.isoformat()
        return out

    def words(self) -> str:
        parts = [f"{k} {v}" for k, v in self.params().items()]
        return ", ".join(parts) if parts else "every event"


@dataclass(frozen=True)
class HeadCheck:
    """What this desk concluded about the portal's signed head."""

    ok: bool
    message: str
    seq: int = 0


@dataclass(frozen=True)
class VerifyResult:
    chain: AuditVerification
    head: HeadCheck

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.head.ok


def event_cells(event: AuditEventOut, zone: tzinfo) -> tuple[str, ...]:
    when = event.occurred_at.astimezone(zone)
    who = event.actor_name or event.actor_kind
    if event.actor_kind == "patient":
        who = f"{who} (patient)"
    return (
        f"{when:%m/%d/%Y %I:%M:%S %p}",
        who,
        event.workstation,
        action_words(event),
        event.patient_name,
        event.subject_kind,
        f"#{event.seq}",
    )


class AuditOps:
    def __init__(
        self,
        runner: TaskRunner,
        store: LocalStore,
        *,
        client: PortalClient | None,
        practice_id: str,
        practice_name: str,
        staff_name: str,
        zone: tzinfo,
        now: Callable[[], datetime],
    ) -> None:
        self.runner = runner
        self.store = store
        self.client = client
        self.practice_id = practice_id
        self.practice_name = practice_name
        self.staff_name = staff_name
        self.zone = zone
        self._now = now

    def _portal(self) -> PortalClient:
        if self.client is None:
            raise PortalOffline()
        return self.client

    # ---- events

    def page(self, where: AuditFilter, before: int | None, limit: int = 200) -> Op[AuditPage]:
        return self.runner.op(self._page, where, before, limit)

    def _page(self, where: AuditFilter, before: int | None, limit: int) -> AuditPage:
        params = {**where.params(), "limit": str(limit)}
        if before is not None:
            params["before"] = str(before)
        return self._portal().call(LIST_AUDIT, query=params)

    def _all(self, where: AuditFilter) -> Iterator[AuditEventOut]:
        before: int | None = None
        while True:
            page = self._page(where, before, MAX_AUDIT_PAGE)
            yield from page.events
            if page.next_before is None:
                return
            before = page.next_before

    # ---- the signed head and Verify

    def check_head(self) -> Op[HeadCheck]:
        return self.runner.op(self._check_head)

    def _check_head(self) -> HeadCheck:
        try:
            head = self._portal().call(AUDIT_HEAD)
        except NotFound:
            return HeadCheck(True, "The audit trail is empty.")
        with self.store.read() as session:
            remembered_text = state.get(session, HEAD_KEY)
        remembered = json.loads(remembered_text) if remembered_text else None
        # The key seen first is the one trusted: a portal that changes it is reported.
        key = remembered["public_key"] if remembered else head.public_key
        if head.public_key != key:
            return HeadCheck(
                False,
                "The portal signs its audit trail with a different key than before. Ask your "
                "IT contact whether the portal's audit key was replaced.",
                head.seq,
            )
        message = checkpoint_message(self.practice_id, head.seq, head.row_hash)
        if not verify_signature(key, message, head.signature):
            return HeadCheck(False, "The portal's audit head is not signed by its key.", head.seq)
        if remembered is not None:
            seen = f"the signed head this workstation saw on {remembered['seen_on']} " + (
                f"(event {remembered['seq']})"
            )
            if head.seq < remembered["seq"]:
                return HeadCheck(
                    False, f"The audit trail is shorter than {seen}: events were removed.", head.seq
                )
            page = self._portal().call(
                LIST_AUDIT, query={"seq": str(remembered["seq"]), "limit": "1"}
            )
            if not page.events or page.events[0].row_hash != remembered["row_hash"]:
                return HeadCheck(
                    False,
                    f"The audit trail no longer extends {seen}: its records were rewritten.",
                    head.seq,
                )
        self._remember(head, key)
        return HeadCheck(
            True,
            f"The trail extends every signed head this workstation saw (now event {head.seq}).",
            head.seq,
        )

    def _remember(self, head: AuditHeadOut, key: str) -> None:
        seen_on = self._now().astimezone(self.zone).strftime("%m/%d/%Y")
        value = json.dumps(
            {"seq": head.seq, "row_hash": head.row_hash, "public_key": key, "seen_on": seen_on}
        )
        with self.store.write() as uow:
            state.put(uow.session, HEAD_KEY, value)

    def verify(self) -> Op[VerifyResult]:
        def run() -> VerifyResult:
            chain = self._portal().call(VERIFY_AUDIT)
            return VerifyResult(chain, self._check_head())

        return self.runner.op(run)

    # ---- exports

    def _subtitle(self, where: AuditFilter) -> str:
        return printed_by(
            self.practice_name, where.words(), self.staff_name, self._now(), self.zone
        )

    def export_csv(self, where: AuditFilter) -> Op[bytes]:
        def run() -> bytes:
            rows = (event_cells(e, self.zone) for e in self._all(where))
            return csv_bytes(COLUMNS, rows)

        return self.runner.op(run)

    def export_pdf(self, where: AuditFilter) -> Op[bytes]:
        def run() -> bytes:
            rows, more = first_rows(
                self._all(where), lambda event: event_cells(event, self.zone), PDF_MAX_ROWS
            )
            count = f"{len(rows):,} event{'s' if len(rows) != 1 else ''}."
            report = TableReport(
                title="Audit trail",
                subtitle=self._subtitle(where),
                columns=COLUMNS,
                rows=rows,
                widths=(12, 12, 9, 14, 12, 9, 5),
                note=f"The newest {PDF_MAX_ROWS:,} events only; the CSV holds them all."
                if more
                else count,
                empty_text="No event matches this filter.",
            )
            return render_table_report(report)

        return self.runner.op(run)
