"""Bulk upserts of the practice's own records (patients by MRN, appointments by external id)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from visitdesk.api.sql_rows import insert_rows
from visitdesk.api.wire import (
    AppointmentOut,
    AppointmentRecord,
    PatientRecord,
    UpsertResult,
)
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import Appointment, Patient, new_id, new_ids
from visitdesk.portal.persistence.out import (
    APPOINTMENT_FIELDS,
    PATIENT_FIELDS,
    datetime_text,
    extended_json,
)
from visitdesk.portal.web.errors import Unprocessable


def _one_of(session: Session, column: Any, values: Sequence[str]) -> Iterable[Any]:
    """Conditions "`column` is one of `values`" (none for no values), each for a statement of
    its own. The values go as one parameter: on PostgreSQL an array, on SQLite a JSON array
    read by ``json_each``. A list of bound parameters costs SQLAlchemy work per value to
    render each time: at 5,000 values, in 900-value ``IN`` lists, twice the lookup itself, and
    PostgreSQL most of an upsert's lookups."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=ARRAY(String)))
        return
    listed = func.json_each(
        bindparam(None, json.dumps(list(values), ensure_ascii=False), type_=String)
    )
    yield column.in_(select(literal_column("value")).select_from(listed))


def _reject_duplicates(keys: Sequence[str], what: str, collection: str) -> None:
    if len(set(keys)) == len(keys):
        return
    seen: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in seen:
            raise Unprocessable(
                f"{collection}[{index}] repeats {what} {key!r} already given at "
                f"{collection}[{seen[key]}]; send each {what} once per batch."
            )
        seen[key] = index


def patient_ids_by_mrn(session: Session, practice_id: str, mrns: Iterable[str]) -> dict[str, str]:
    """Portal ids of the practice's patients with these MRNs (unknown MRNs are left out)."""
    found: dict[str, str] = {}
    for one_of in _one_of(session, Patient.mrn, sorted(set(mrns))):
        for mrn, patient_id in session.execute(
            select(Patient.mrn, Patient.id).where(Patient.practice_id == practice_id, one_of)
        ):
            found[mrn] = patient_id
    return found


def require_patients(
    patient_ids: dict[str, str], mrns_by_row: Sequence[Sequence[str]], field: str
) -> None:
    """Refuse the batch (422) when a row names an MRN with no patient in `patient_ids`.

    The message points at the first such row (``field[index]``) and counts the others.
    """
    if {mrn for mrns in mrns_by_row for mrn in mrns} <= patient_ids.keys():
        return
    rows = [
        (index, mrn)
        for index, mrns in enumerate(mrns_by_row)
        for mrn in mrns
        if mrn not in patient_ids
    ]
    if not rows:
        return
    index, mrn = rows[0]
    others = len({i for i, _ in rows}) - 1
    tail = f" ({others} more rows name unknown MRNs)" if others else ""
    raise Unprocessable(
        f"{field}[{index}]: no patient with MRN {mrn!r} in this practice; "
        f"send the patient first{tail}."
    )


def rows_by_external_id(
    session: Session, model: Any, practice_id: str, external_ids: Sequence[str]
) -> dict[str, Any]:
    """The practice's rows of `model` whose practice-system id is one of `external_ids`."""
    found: dict[str, Any] = {}
    for one_of in _one_of(session, model.external_id, external_ids):
        for row in session.scalars(select(model).where(model.practice_id == practice_id, one_of)):
            found[row.external_id] = row
    return found


def upsert_patients(
    session: Session, practice_id: str, records: Sequence[PatientRecord]
) -> UpsertResult:
    """Create or update patients by MRN; only real changes get a feed item."""
    mrns = [record.mrn for record in records]
    _reject_duplicates(mrns, "MRN", "patients")
    existing: dict[str, Patient] = {}
    for one_of in _one_of(session, Patient.mrn, mrns):
        for row in session.scalars(
            select(Patient).where(Patient.practice_id == practice_id, one_of)
        ):
            existing[row.mrn] = row

    now = utcnow()
    fresh = new_ids(len(records))
    stamp = datetime_text(now)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[NewChange] = []
    unchanged = 0
    for record in records:
        values = dict(vars(record))  # plain values, as model_dump() gives them, but cheaper
        current = existing.get(record.mrn)
        if current is None:
            patient_id = next(fresh)
            inserts.append(
                {
                    "id": patient_id,
                    "practice_id": practice_id,
                    "created_at": now,
                    "updated_at": now,
                    **values,
                }
            )
        elif any(getattr(current, name) != values[name] for name in PATIENT_FIELDS):
            patient_id = current.id
            updates.append({"id": patient_id, "updated_at": now, **values})
        else:
            unchanged += 1
            continue
        data = extended_json(record, {"id": patient_id, "updated_at": stamp})
        changes.append(NewChange("patient", patient_id, data))
    if inserts:
        insert_rows(session.connection(), cast(Table, Patient.__table__), inserts)
    if updates:
        session.execute(update(Patient), updates)
    append_changes(session, practice_id, changes)
    return UpsertResult(created=len(inserts), updated=len(updates), unchanged=unchanged)


def upsert_appointments(
    session: Session, practice_id: str, records: Sequence[AppointmentRecord]
) -> UpsertResult:
    """Create or update appointments by external id; every MRN must name a patient here."""
    external_ids = [record.external_id for record in records]
    _reject_duplicates(external_ids, "external_id", "appointments")

    patient_ids = patient_ids_by_mrn(session, practice_id, (r.mrn for r in records))
    require_patients(patient_ids, [(record.mrn,) for record in records], "appointments")

    existing: dict[str, Appointment] = rows_by_external_id(
        session, Appointment, practice_id, external_ids
    )

    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[NewChange] = []
    unchanged = 0
    for record in records:
        values = record.model_dump(exclude={"mrn"})
        values["starts_at"] = values["starts_at"].astimezone(UTC)
        patient_id = patient_ids[record.mrn]
        current = existing.get(record.external_id)
        if current is None:
            appointment_id = new_id()
            inserts.append(
                {
                    "id": appointment_id,
                    "practice_id": practice_id,
                    "patient_id": patient_id,
                    "updated_at": now,
                    **values,
                }
            )
        elif current.patient_id != patient_id or any(
            getattr(current, name) != values[name] for name in APPOINTMENT_FIELDS
        ):
            appointment_id = current.id
            updates.append(
                {"id": appointment_id, "patient_id": patient_id, "updated_at": now, **values}
            )
        else:
            unchanged += 1
            continue
        # The desk's no-show mark is the portal's own, not the practice system's: keep it.
        out = AppointmentOut(
            id=appointment_id,
            patient_id=patient_id,
            mrn=record.mrn,
            no_show_at=current.no_show_at if current is not None else None,
            no_show_by=current.no_show_by if current is not None else None,
            **values,
        )
        changes.append(NewChange.of("appointment", out, appointment_id))
    if inserts:
        session.execute(insert(cast(Table, Appointment.__table__)), inserts)
    if updates:
        session.execute(update(Appointment), updates)
    append_changes(session, practice_id, changes)
    return UpsertResult(created=len(inserts), updated=len(updates), unchanged=unchanged)
