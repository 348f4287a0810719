"""Turning rows into wire models (the *Out models the API and the change feed carry)."""

from __future__ import annotations

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
