"""Turning rows into wire models (the *Out models the API and the change feed carry)."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, TypeAdapter

from visitdesk.api.wire import AppointmentOut, CheckInOut, CheckInStatus, PatientOut
from visitdesk.portal.persistence.models import Appointment, CheckIn, Patient

PATIENT_FIELDS = (
    "mrn",
    "first_name",
    "last_name",
    "middle_name",
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


_DATETIME = TypeAdapter(datetime)


def datetime_text(value: datetime) -> str:
    """`value` as the *Out models put a datetime in JSON (without the quotes)."""
    return str(_DATETIME.dump_json(value).decode()[1:-1])


def extended_json(record: BaseModel, extra: dict[str, str | int | None]) -> str:
    """The JSON of an *Out model that is `record` plus the fields in `extra` (a PatientOut is
    its PatientRecord with ``id`` and ``updated_at``), for the change feed of a bulk upsert.

    The record's own JSON (pydantic's serializer, in Rust) gets the extra fields put in front:
    building and validating an *Out model per row cost more than the rest of the upsert. `extra`
    holds JSON-ready values (a datetime as :func:`datetime_text`) and names no field of `record`.
    """
    # Each value is encoded on its own by json's shared default encoder: a dumps() of the dict
    # with options built a new encoder per call, which cost more than the record's own JSON.
    head = ",".join(f'"{name}":{json.dumps(value)}' for name, value in extra.items())
    body = record.model_dump_json()
    if not head:
        return body
    if body == "{}":
        return f"{{{head}}}"
    return f"{{{head},{body[1:]}"


def patient_out(row: Patient) -> PatientOut:
    return PatientOut(
        id=row.id,
        updated_at=row.updated_at,
        **{name: getattr(row, name) for name in PATIENT_FIELDS},
    )


def appointment_out(row: Appointment, mrn: str) -> AppointmentOut:
    return AppointmentOut(
        id=row.id,
        patient_id=row.patient_id,
        mrn=mrn,
        no_show_at=row.no_show_at,
        no_show_by=row.no_show_by,
        **{name: getattr(row, name) for name in APPOINTMENT_FIELDS},
    )


def checkin_out(row: CheckIn) -> CheckInOut:
    return CheckInOut(
        id=row.id,
        patient_id=row.patient_id,
        appointment_id=row.appointment_id,
        arrived_at=row.arrived_at,
        status=CheckInStatus(row.status),
        status_changed_at=row.status_changed_at,
        status_changed_by=row.status_changed_by,
        source="desk" if row.source == "desk" else "app",
        thread_id=row.thread_id,
    )
