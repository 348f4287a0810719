"""myInfo end to end over loopback TLS: a patient's change reaches every desk's queue, a decision
taken on one desk reaches the portal's record, every desk's local store and the export, and the
patient sees each field's outcome."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.fixtures_portal import PortalPractice
from tests.integration.desks import Workstation
from tests.patient_api import own_myinfo_changes, submit_myinfo
from tests.sync.fakes import wait_for
from visitdesk.api.commands import GET_CARD_IMAGE
from visitdesk.desktop.models import myinfo
from visitdesk.desktop.models.coltypes import utcnow
from visitdesk.desktop.models.schema import Patient
from visitdesk.desktop.ops.myinfo import EXPORT_COLUMNS, export_cells
from visitdesk.portal.demo.card_image import card_png
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models_registration import AuditEvent
from visitdesk.portal.web.deps import workstation_name
from visitdesk.reports.csv_export import csv_bytes

HOSTILE_ADDRESS = '=HYPERLINK("https://evil.example/x","Click")'


def _queue(desk: Workstation) -> list[myinfo.QueueRow]:
    with desk.store.read() as session:
        return myinfo.queue(session)


def _patient(desk: Workstation, portal_id: str) -> Patient | None:
    with desk.store.read() as session:
        row = session.scalar(select(Patient).where(Patient.portal_id == portal_id))
        if row is not None:
            session.expunge(row)
        return row


def _insurance(desk: Workstation, portal_id: str) -> myinfo.PatientInsurance | None:
    with desk.store.read() as session:
        row = session.get(myinfo.PatientInsurance, portal_id)
        if row is not None:
            session.expunge(row)
        return row


def test_a_decision_reaches_the_portal_every_desk_and_the_export(
    practice: PortalPractice,
    workstations: Callable[..., Workstation],
    portal_database: Database,
) -> None:
    desk1 = workstations(practice, name="desk1")
    desk2 = workstations(practice, name="desk2")
    patient_id = practice.patients[0].patient_ids[0]
    change = submit_myinfo(
        practice,
        card=card_png(),
        address_line1=HOSTILE_ADDRESS,
        phone="(413) 555-0111",
        insurance_payer="Blue Hills Health",
    )
    assert wait_for(lambda: [r.id for r in _queue(desk1)] == [change["id"]], timeout=5)
    assert wait_for(lambda: [r.id for r in _queue(desk2)] == [change["id"]], timeout=5)
    with desk1.store.read() as session:
        detail = myinfo.detail(session, change["id"])
    shown = {f.field: f for f in detail.fields}
    assert shown["address_line1"].value == HOSTILE_ADDRESS
    assert shown["address_line1"].on_record != HOSTILE_ADDRESS
    assert shown["insurance_card_front"].is_card and shown["insurance_card_front"].on_record == ""

    decisions = {
        "address_line1": "accepted",
        "phone": "rejected",
        "insurance_payer": "accepted",
        "insurance_card_front": "accepted",
    }
    with desk1.store.write() as uow:
        myinfo.record_decision(uow.session, change["id"], decisions)
    assert _queue(desk1) == []  # gone from this desk at once
    desk1.engine.kick()

    def outcome() -> dict[str, str]:
        own = own_myinfo_changes(practice)
        return {f["field"]: f["decision"] for f in own[0]["fields"]}

    assert wait_for(lambda: outcome() == decisions, timeout=5)
    for desk in (desk1, desk2):
        assert wait_for(lambda d=desk: _queue(d) == [], timeout=5)  # type: ignore[misc]
        assert wait_for(
            lambda d=desk: (
                (p := _patient(d, patient_id)) is not None  # type: ignore[misc]
                and p.address_line1 == HOSTILE_ADDRESS
            ),
            timeout=5,
        )
        record = _patient(desk, patient_id)
        assert record is not None and record.phone != "(413) 555-0111"
        assert wait_for(lambda d=desk: _insurance(d, patient_id) is not None, timeout=5)  # type: ignore[misc]
        insurance = _insurance(desk, patient_id)
        assert insurance is not None and insurance.payer == "Blue Hills Health"
        assert insurance.card_front_image_id == shown["insurance_card_front"].value

    # The audit trail: who, from which workstation, which patient, which fields; no values.
    with portal_database.read() as session:
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.practice_id == practice.practice_id,
                AuditEvent.action == "demographic_change.decided",
            )
        )
    assert event is not None and event.patient_id == patient_id
    assert event.actor_name == desk1.client.staff.name  # type: ignore[union-attr]
    details = json.loads(event.details)
    assert details.get("workstation", "") == workstation_name(desk1.client.workstation)
    assert details["rejected"] == ["phone"]
    assert HOSTILE_ADDRESS not in event.details and "Blue Hills" not in event.details

    # The card picture comes from the portal on demand, exactly as uploaded.
    picture = desk1.client.download(
        GET_CARD_IMAGE, {"image_id": insurance.card_front_image_id}, limit=10**7
    )
    assert picture == card_png()

    with desk1.store.read() as session:
        rows, ids = myinfo.unexported(session)
    assert ids == [change["id"]]
    assert [r.field for r in rows] == ["address_line1", "insurance_payer", "insurance_card_front"]
    data = csv_bytes(EXPORT_COLUMNS, (export_cells(r, ZoneInfo("UTC")) for r in rows))
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == list(EXPORT_COLUMNS)
    assert table[1][4] == "Address" and table[1][5] == "'" + HOSTILE_ADDRESS  # not a formula
    with desk1.store.write() as uow:
        myinfo.mark_exported(uow.session, ids, utcnow())
    with desk1.store.read() as session:
        assert myinfo.unexported(session) == ([], [])
