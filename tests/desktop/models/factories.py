"""Builders of feed items and CSV files for the local store's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from visitdesk.api.wire import ChangeItem

T0 = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)


def patient_item(
    seq: int, pid: str, mrn: str, first: str = "Ann", last: str = "Lee", **extra: Any
) -> ChangeItem:
    data = {
        "id": pid,
        "mrn": mrn,
        "first_name": first,
        "last_name": last,
        "date_of_birth": "1980-01-02",
        "updated_at": "2024-01-01T00:00:00Z",
        **extra,
    }
    return ChangeItem(seq=seq, kind="patient", op="upsert", id=pid, data=data)


def appointment_item(
    seq: int, aid: str, external_id: str, mrn: str, pid: str, starts_at: datetime = T0
) -> ChangeItem:
    data = {
        "id": aid,
        "patient_id": pid,
        "external_id": external_id,
        "mrn": mrn,
        "starts_at": starts_at.isoformat(),
        "provider": "Dr. Who",
    }
    return ChangeItem(seq=seq, kind="appointment", op="upsert", id=aid, data=data)


def checkin_item(
    seq: int,
    cid: str,
    pid: str,
    arrived_at: datetime = T0,
    status: str = "arrived",
    appointment_id: str | None = None,
) -> ChangeItem:
    data = {
        "id": cid,
        "patient_id": pid,
        "appointment_id": appointment_id,
        "arrived_at": arrived_at.isoformat(),
        "status": status,
        "status_changed_at": arrived_at.isoformat(),
    }
    return ChangeItem(seq=seq, kind="checkin", op="upsert", id=cid, data=data)


def delete_item(seq: int, kind: str, id_: str) -> ChangeItem:
    return ChangeItem(seq=seq, kind=kind, op="delete", id=id_, data={})  # type: ignore[arg-type]


PATIENT_HEADER = "mrn,first_name,last_name,date_of_birth,sex,email"


def write_csv(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def patients_csv(path: Path, count: int, *, start: int = 0) -> Path:
    lines = [PATIENT_HEADER]
    lines += [
        f"M{i:06d},First{i},Last{i},1970-01-{1 + i % 28:02d},F,p{i}@example.com"
        for i in range(start, start + count)
    ]
    return write_csv(path, "\n".join(lines) + "\n")
