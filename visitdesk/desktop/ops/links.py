"""Linked accounts (office managers): pages of the portal's list, the review, revoking links,
locking accounts, and the CSV and PDF exports.

The list lives on the portal and is read page by page (keyset pages sorted and searched in SQL
there) rather than synced to the desk: it is needed now and then by a manager, holds every
account's logins, must be current when a manager decides to revoke, and at 100,000 accounts
would otherwise ride the change feed to every workstation. Actions go to the portal at once (not
through the outbox): revoking must take effect now, and offline the screen says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from visitdesk.api.commands import (
    LIST_LINKS,
    LOCK_ACCOUNT,
    REVIEW_LINKS,
    REVOKE_LINK,
    UNLOCK_ACCOUNT,
    WRITE_REVIEW_SETTINGS,
)
from visitdesk.api.wire_links import (
    MAX_LINK_PAGE,
    AccountLock,
    AccountState,
    LinkPage,
    LinkRevoke,
    LinkRow,
    LinkState,
    ReviewItem,
    ReviewList,
    ReviewSettings,
)
from visitdesk.desktop.ops.base import first_rows, printed_by
from visitdesk.desktop.tasks import Op, TaskRunner
from visitdesk.reports.csv_export import csv_bytes
from visitdesk.reports.table_report import TableReport, render_table_report
from visitdesk.sync.client import PortalClient
from visitdesk.sync.errors import PortalOffline

log = logging.getLogger(__name__)

#: A PDF of more rows than this is not something anyone reads; the CSV holds them all.
PDF_MAX_ROWS = 5000

METHOD_LABELS = {
    "security_code": "Security code",
    "safe_health_code": "Safe Health Code",
    "staff_match": "Staff match",
    "": "Not recorded",
}
RULE_LABELS = {
    "review_age": "Reached review age",
    "turned_18": "Turned 18",
    "adult_dependant": "Adult as dependant",
    "many_patients": "Many patients",
    "code_revoked": "Code later revoked",
    "unused": "Unused account",
}
RELATIONSHIP_LABELS = {
    "self": "Self",
    "child": "Child",
    "spouse": "Spouse",
    "parent": "Parent",
    "dependent": "Dependent",
    "other": "Other",
}
LINK_COLUMNS = (
    "Account",
    "Login",
    "Last sign-in",
    "Patient",
    "MRN",
    "Date of birth",
    "Patient is",
    "Linked by",
    "Allowed by",
    "Linked",
    "Status",
)
REVIEW_COLUMNS = ("Rule", "Account", "Login", "Patient", "Why")


@dataclass(frozen=True)
class LinkQuery:
    search: str = ""
    state: LinkState = "all"


def format_day(moment: datetime | date | None, zone: tzinfo) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(zone).date()
    return f"{moment:%m/%d/%Y}"


def link_status(row: LinkRow, zone: tzinfo) -> str:
    if row.revoked_at is not None:
        return f"Revoked {format_day(row.revoked_at, zone)}: {row.revoke_reason}"
    if row.account_locked:
        return "Account locked"
    return "Active"


def link_cells(row: LinkRow, zone: tzinfo) -> tuple[str, ...]:
    """One link as the words every view and export of the list shows."""
    return (
        row.account_name,
        row.account_login,
        format_day(row.account_last_sign_in, zone) or "Never",
        row.patient_name,
        row.mrn,
        format_day(row.date_of_birth, zone),
        RELATIONSHIP_LABELS.get(row.relationship, row.relationship),
        METHOD_LABELS.get(row.method, row.method),
        row.made_by or ("The patient" if row.method == "safe_health_code" else ""),
        format_day(row.linked_at, zone),
        link_status(row, zone),
    )


def review_cells(item: ReviewItem) -> tuple[str, ...]:
    return (
        RULE_LABELS.get(item.rule, item.rule),
        item.account_name,
        item.account_login,
        item.patient_name,
        item.detail,
    )


class LinkOps:
    """The Linked accounts screen's work; every call runs off the GUI thread."""

    def __init__(
        self,
        runner: TaskRunner,
        *,
        client: PortalClient | None,
        practice_name: str,
        staff_name: str,
        zone: tzinfo,
        now: Callable[[], datetime],
    ) -> None:
        self.runner = runner
        self.client = client
        self.practice_name = practice_name
        self.staff_name = staff_name
        self.zone = zone
        self._now = now

    def _portal(self) -> PortalClient:
        if self.client is None:
            raise PortalOffline()
        return self.client

    # ---- reading

    def page(self, query: LinkQuery, after: str | None, limit: int = 200) -> Op[LinkPage]:
        return self.runner.op(self._page, query, after, limit)

    def _page(self, query: LinkQuery, after: str | None, limit: int) -> LinkPage:
        params: dict[str, str | int] = {"limit": limit, "status": query.state}
        if query.search.strip():
            params["q"] = query.search.strip()
        if after is not None:
            params["after"] = after
        return self._portal().call(LIST_LINKS, query=params)

    def _all_rows(self, query: LinkQuery) -> Iterator[LinkRow]:
        after: str | None = None
        while True:
            page = self._page(query, after, MAX_LINK_PAGE)
            yield from page.rows
            if page.next_cursor is None:
                return
            after = page.next_cursor

    def review(self) -> Op[ReviewList]:
        def run() -> ReviewList:
            return self._portal().call(REVIEW_LINKS)

        return self.runner.op(run)

    # ---- acting

    def revoke(self, link_id: str, reason: str, idempotency_key: str) -> Op[LinkRow]:
        def run() -> LinkRow:
            row = self._portal().call(
                REVOKE_LINK,
                {"link_id": link_id},
                LinkRevoke(reason=reason),
                idempotency_key=idempotency_key,
            )
            log.info("Link revoked")
            return row

        return self.runner.op(run)

    def set_locked(
        self, account_id: str, locked: bool, reason: str, idempotency_key: str
    ) -> Op[AccountState]:
        def run() -> AccountState:
            params = {"account_id": account_id}
            if locked:
                state = self._portal().call(
                    LOCK_ACCOUNT,
                    params,
                    AccountLock(reason=reason),
                    idempotency_key=idempotency_key,
                )
            else:
                state = self._portal().call(UNLOCK_ACCOUNT, params, idempotency_key=idempotency_key)
            log.info("Portal account %s", "locked" if locked else "unlocked")
            return state

        return self.runner.op(run)

    def save_settings(self, settings: ReviewSettings, idempotency_key: str) -> Op[ReviewSettings]:
        def run() -> ReviewSettings:
            return self._portal().call(
                WRITE_REVIEW_SETTINGS, body=settings, idempotency_key=idempotency_key
            )

        return self.runner.op(run)

    # ---- exports

    def _subtitle(self, what: str) -> str:
        return printed_by(self.practice_name, what, self.staff_name, self._now(), self.zone)

    def export_links_csv(self, query: LinkQuery) -> Op[bytes]:
        def run() -> bytes:
            rows = (link_cells(row, self.zone) for row in self._all_rows(query))
            return csv_bytes(LINK_COLUMNS, rows)

        return self.runner.op(run)

    def export_links_pdf(self, query: LinkQuery) -> Op[bytes]:
        def run() -> bytes:
            rows, more = first_rows(
                self._all_rows(query), lambda row: link_cells(row, self.zone), PDF_MAX_ROWS
            )
            shown = _filter_words(query)
            note = (
                f"The first {PDF_MAX_ROWS:,} links only; the CSV export holds them all."
                if more
                else f"{len(rows):,} link{'s' if len(rows) != 1 else ''}."
            )
            report = TableReport(
                title="Linked portal accounts",
                subtitle=self._subtitle(shown),
                columns=LINK_COLUMNS,
                rows=rows,
                widths=(12, 14, 6, 12, 6, 6, 5, 7, 8, 6, 16),
                note=note,
                empty_text="No portal account is linked to a patient of this practice.",
            )
            return render_table_report(report)

        return self.runner.op(run)

    def export_review_csv(self, review: ReviewList) -> Op[bytes]:
        return self.runner.op(
            lambda: csv_bytes(REVIEW_COLUMNS, (review_cells(i) for i in review.items))
        )

    def export_review_pdf(self, review: ReviewList) -> Op[bytes]:
        def run() -> bytes:
            report = TableReport(
                title="Linked accounts that need review",
                subtitle=self._subtitle(
                    f"review age {review.settings.review_age}, "
                    f"{review.settings.many_patients}+ patients, "
                    f"unused {review.settings.unused_days} days"
                ),
                columns=REVIEW_COLUMNS,
                rows=[review_cells(item) for item in review.items],
                widths=(10, 14, 14, 14, 30),
                note=f"{review.total:,} item{'s' if review.total != 1 else ''}.",
                empty_text="No link or account matches a review rule.",
            )
            return render_table_report(report)

        return self.runner.op(run)


def _filter_words(query: LinkQuery) -> str:
    state = {"all": "all links", "active": "active links", "revoked": "revoked links"}[query.state]
    return f'{state} matching "{query.search}"' if query.search.strip() else state
