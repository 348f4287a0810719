"""Applying pages of the portal's change feed to the local store.

A page is reduced to the final state of each record (every item carries the whole record, so the
last item per id wins), then written with a few bulk statements. Applying a page twice leaves the
same state as applying it once.

Patients are matched by portal id, falling back to MRN: a patient imported locally from the
practice management system gets its portal id filled in when the portal reports it. Appointments
are matched the same way by portal id, then `external_id`. A local row that holds an MRN (or
external id) the portal now gives to a different record is stale and is removed; the record it
belonged to comes back with its own, later, feed item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from visitdesk.api.wire import AppointmentOut, ChangeItem, CheckInOut, PatientOut
from visitdesk.desktop.models import codes, messages, myinfo, quick_texts, registrations, schedule
from visitdesk.desktop.models.billing import feed as billing_feed
from visitdesk.desktop.models.bulk import bulk_insert, chunks, delete_where_in
from visitdesk.desktop.models.schema import Appointment, CheckIn, Patient, table_of

PATIENT_FIELDS = (
    "mrn",
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "sex",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
)
APPOINTMENT_FIELDS = (
    "external_id",
    "starts_at",
    "duration_minutes",
    "provider",
    "location",
    "reason",
    "status",
)
#: The portal's own marks on an appointment (not the practice system's, so imports leave them).
APPOINTMENT_PORTAL_FIELDS = ("no_show_at", "no_show_by")
CHECKIN_STATUS_FIELDS = ("status", "status_changed_at", "status_changed_by")


def apply_changes(session: Session, items: Sequence[ChangeItem]) -> set[str]:
    """Write one page of the feed inside the caller's transaction; returns the kinds present."""
    final: dict[tuple[str, str], ChangeItem] = {}
    for item in sorted(items, key=lambda i: i.seq):
        final[(item.kind, item.id)] = item
    by_kind: dict[str, list[ChangeItem]] = {kind: [] for kind, _ in APPLIERS}
    for item in final.values():
        kind = APPLIED_WITH.get(item.kind, item.kind)
        if kind in by_kind:
            by_kind[kind].append(item)
        # A kind this version does not know comes from a newer portal: it is skipped, and the
        # feed position still advances, so the desk keeps working until it is updated.
    for kind, apply in APPLIERS:
        if by_kind[kind]:
            apply(session, by_kind[kind])
    return {kind for kind, applied in by_kind.items() if applied}


Applier = Callable[[Session, list[ChangeItem]], None]


def _split(items: Iterable[ChangeItem]) -> tuple[list[ChangeItem], list[str]]:
    upserts = [i for i in items if i.op == "upsert"]
    deletes = [i.id for i in items if i.op == "delete"]
    return upserts, deletes


def _resolve_holders(
    session: Session,
    table: Table,
    key: str,
    incoming: dict[str, str],
) -> None:
    """Make room for upserting `incoming` (natural key -> portal id) by portal id.

    A local row holding the natural key without a portal id adopts the portal id (unless the portal
    id already has a row); any other holder of the key is stale and is deleted.
    """
    keys = list(incoming)
    holders: dict[str, tuple[int, str | None]] = {}
    for part in chunks(keys):
        for row_id, nat, pid in session.execute(
            select(table.c.id, table.c[key], table.c.portal_id).where(table.c[key].in_(part))
        ):
            holders[nat] = (row_id, pid)
    if not holders:
        return
    pids = list(incoming.values())
    existing: set[str] = set()
    for part in chunks(pids):
        existing.update(
            session.scalars(select(table.c.portal_id).where(table.c.portal_id.in_(part)))
        )
    adopt: list[dict[str, Any]] = []
    stale: list[int] = []
    for nat, (row_id, holder_pid) in holders.items():
        pid = incoming[nat]
        if holder_pid == pid:
            continue
        if holder_pid is None and pid not in existing:
            adopt.append({"b_id": row_id, "b_pid": pid})
        else:
            stale.append(row_id)
    delete_where_in(session, table, "id", stale)
    if adopt:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(portal_id=bindparam("b_pid")),
            adopt,
        )


def _winners(
    upserts: list[tuple[int, str, str, dict[str, Any]]],
) -> tuple[dict[str, str], list[dict[str, Any]], list[str]]:
    """Among records claiming the same natural key in one page, the latest (highest seq) wins.

    Returns (natural key -> portal id, rows to upsert, portal ids of losers to drop locally).
    """
    best: dict[str, tuple[int, str, dict[str, Any]]] = {}
    losers: list[str] = []
    for seq, pid, nat, row in upserts:
        current = best.get(nat)
        if current is None or seq > current[0]:
            if current is not None:
                losers.append(current[1])
            best[nat] = (seq, pid, row)
        else:
            losers.append(pid)
    return {nat: v[1] for nat, v in best.items()}, [v[2] for v in best.values()], losers


def _upsert(
    session: Session, table: Table, rows: list[dict[str, Any]], fields: Sequence[str]
) -> None:
    bulk_insert(session, table, rows, conflict="portal_id", update=fields)


_PATIENTS = TypeAdapter(list[PatientOut])


def _apply_patients(session: Session, items: list[ChangeItem]) -> None:
    table = table_of(Patient)
    upserts, deletes = _split(items)
    parsed: list[tuple[int, str, str, dict[str, Any]]] = []
    # One validation call for the page's patients (a call per item cost a third more).
    for item, record in zip(
        upserts, _PATIENTS.validate_python([i.data for i in upserts]), strict=True
    ):
        row = {f: getattr(record, f) for f in PATIENT_FIELDS}
        row["portal_id"] = item.id
        row["updated_at"] = record.updated_at
        parsed.append((item.seq, item.id, record.mrn, row))
    incoming, rows, losers = _winners(parsed)
    delete_where_in(session, table, "portal_id", deletes + losers)
    _resolve_holders(session, table, "mrn", incoming)
    _upsert(session, table, rows, (*PATIENT_FIELDS, "updated_at"))


def _apply_appointments(session: Session, items: list[ChangeItem]) -> None:
    table = table_of(Appointment)
    upserts, deletes = _split(items)
    parsed: list[tuple[int, str, str, dict[str, Any]]] = []
    for item in upserts:
        record = AppointmentOut.model_validate(item.data)
        row = {f: getattr(record, f) for f in (*APPOINTMENT_FIELDS, *APPOINTMENT_PORTAL_FIELDS)}
        row["portal_id"] = item.id
        row["patient_mrn"] = record.mrn
        row["patient_portal_id"] = record.patient_id
        parsed.append((item.seq, item.id, record.external_id, row))
    incoming, rows, losers = _winners(parsed)
    delete_where_in(session, table, "portal_id", deletes + losers)
    _resolve_holders(session, table, "external_id", incoming)
    _upsert(
        session,
        table,
        rows,
        (*APPOINTMENT_FIELDS, *APPOINTMENT_PORTAL_FIELDS, "patient_mrn", "patient_portal_id"),
    )


def _apply_checkins(session: Session, items: list[ChangeItem]) -> None:
    table = table_of(CheckIn)
    upserts, deletes = _split(items)
    delete_where_in(session, table, "id", deletes)
    if not upserts:
        return
    # A check-in with a status change of this desk in flight never gets here: its items are held
    # until the change settles (see reconcile.py).
    rows: list[dict[str, Any]] = []
    for item in upserts:
        record = CheckInOut.model_validate(item.data)
        rows.append(
            {
                "id": item.id,
                "patient_id": record.patient_id,
                "appointment_id": record.appointment_id,
                "arrived_at": record.arrived_at,
                "status": record.status.value,
                "status_changed_at": record.status_changed_at,
                "status_changed_by": record.status_changed_by,
                "source": record.source,
            }
        )
    fields = ("patient_id", "appointment_id", "arrived_at", *CHECKIN_STATUS_FIELDS, "source")
    bulk_insert(session, table, rows, conflict="id", update=fields)


#: Kinds written by another kind's applier, together with its items (in one seq order): a batch
#: of ledger lines is applied with the single lines. Reported as that kind.
APPLIED_WITH = {kind: "ledger_line" for kind in billing_feed.BATCH_KINDS}

#: How each kind of feed item is written, in the order kinds are applied within a page: records
#: that others refer to come first (patients before their appointments, check-ins and ledgers).
#: A new kind of feed item is added here, and only here.
APPLIERS: tuple[tuple[str, Applier], ...] = (
    ("patient", _apply_patients),
    ("appointment", _apply_appointments),
    ("checkin", _apply_checkins),
    (schedule.ATTEMPT_KIND, schedule.apply_arrival_attempts),
    (schedule.SETTINGS_KIND, schedule.apply_checkin_settings),
    ("ledger_line", billing_feed.apply_ledger_lines),
    ("payment", billing_feed.apply_payments),
    (codes.KIND, codes.apply_security_codes),
    (registrations.KIND, registrations.apply_registrations),
    (myinfo.KIND, myinfo.apply_demographic_changes),
    (myinfo.INSURANCE_KIND, myinfo.apply_insurance),
    # Messages before their threads: a thread's list preview is its newest message held here.
    (messages.MESSAGE_KIND, messages.apply_messages),
    (messages.THREAD_KIND, messages.apply_threads),
    (quick_texts.KIND, quick_texts.apply_quick_texts),
)
