"""myInfo on the portal: patients submit demographic and insurance changes with card pictures,
staff decide field by field, accepted values reach the record; access and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from sqlalchemy import select

from tests.fixtures_portal import PortalPractice, make_practice
from tests.portal.helpers import idem, patient_headers, staff_headers
from visitdesk.api.wire_myinfo import MAX_CARD_BYTES
from visitdesk.portal.demo.card_image import card_png
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models import Change, Patient
from visitdesk.portal.persistence.models_myinfo import CardImageChunk, PatientInsurance
from visitdesk.portal.persistence.models_registration import AuditEvent
from visitdesk.portal.web.server import RunningPortal

NEW_ADDRESS = "12 Orchard Lane"


def upload(
    http: requests.Session,
    practice: PortalPractice,
    headers: dict[str, str],
    data: bytes,
    content_type: str = "image/png",
) -> requests.Response:
    return http.post(
        f"{practice.patient_url}/insurance-cards",
        data=data,
        headers={**headers, "Content-Type": content_type},
        timeout=10,
    )


def submit(
    http: requests.Session, practice: PortalPractice, headers: dict[str, str], **fields: Any
) -> requests.Response:
    return http.post(
        f"{practice.patient_url}/demographic-changes", json=fields, headers=headers, timeout=10
    )


def decide(
    http: requests.Session,
    practice: PortalPractice,
    change_id: str,
    decisions: dict[str, str],
    headers: dict[str, str],
    key: dict[str, str] | None = None,
) -> requests.Response:
    return http.post(
        f"{practice.staff_url}/demographic-changes/{change_id}/decision",
        json={"decisions": decisions},
        headers={**headers, **(key or idem())},
        timeout=10,
    )


def _full_change(http: requests.Session, practice: PortalPractice) -> tuple[dict[str, Any], str]:
    """A change with an address, a phone, insurance details and both card pictures."""
    patient = patient_headers(http, practice)
    front = upload(http, practice, patient, card_png()).json()["id"]
    back = upload(http, practice, patient, card_png(colour=(120, 40, 40))).json()["id"]
    response = submit(
        http,
        practice,
        patient,
        patient_id=practice.patients[0].patient_ids[0],
        address_line1=NEW_ADDRESS,
        phone="(413) 555-0199",
        insurance_payer="Blue Hills Health",
        insurance_member_id="BHH123456",
        insurance_relationship="self",
        insurance_card_front=front,
        insurance_card_back=back,
    )
    assert response.status_code == 201, response.text
    return response.json(), back


def test_a_change_is_reviewed_field_by_field_and_reaches_the_record(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    change, back = _full_change(portal_http, practice)
    assert change["status"] == "pending"
    assert {f["decision"] for f in change["fields"]} == {"pending"}
    desk = staff_headers(portal_http, practice)

    queue = portal_http.get(f"{practice.staff_url}/demographic-changes", headers=desk, timeout=10)
    assert [c["id"] for c in queue.json()] == [change["id"]]
    assert queue.json()[0]["account_name"]
    detail = portal_http.get(
        f"{practice.staff_url}/demographic-changes/{change['id']}", headers=desk, timeout=10
    ).json()
    assert detail["on_record"]["address_line1"] != NEW_ADDRESS
    assert detail["on_record"]["insurance_payer"] == ""
    image = portal_http.get(f"{practice.staff_url}/card-images/{back}", headers=desk, timeout=10)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content == card_png(colour=(120, 40, 40))

    decisions = {f["field"]: "accepted" for f in change["fields"]}
    decisions["phone"] = "rejected"
    key = idem()
    decided = decide(portal_http, practice, change["id"], decisions, desk, key)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "decided" and decided.json()["decided_by"]
    # The same key replays the answer; another decision is refused.
    replay = decide(portal_http, practice, change["id"], decisions, desk, key)
    assert replay.json() == decided.json()
    assert decide(portal_http, practice, change["id"], decisions, desk).status_code == 409

    patient_id = practice.patients[0].patient_ids[0]
    with portal_database.read() as session:
        record = session.get(Patient, patient_id)
        insurance = session.get(PatientInsurance, patient_id)
        assert record is not None and insurance is not None
        assert record.address_line1 == NEW_ADDRESS
        assert record.phone != "(413) 555-0199"
        assert (insurance.payer, insurance.member_id, insurance.relationship) == (
            "Blue Hills Health",
            "BHH123456",
            "self",
        )
        assert insurance.card_back_image_id == back
        kinds = list(
            session.scalars(
                select(Change.kind)
                .where(Change.practice_id == practice.practice_id)
                .order_by(Change.seq.desc())
                .limit(3)
            )
        )
        events = list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.practice_id == practice.practice_id,
                    AuditEvent.action.like("demographic_change.%"),
                )
            )
        )
    assert sorted(kinds) == ["demographic_change", "insurance", "patient"]
    assert [e.action for e in events] == [
        "demographic_change.submitted",
        "demographic_change.decided",
    ]
    decided_event = events[1]
    details = json.loads(decided_event.details)
    assert details["rejected"] == ["phone"] and "address_line1" in details["accepted"]
    assert decided_event.patient_id == patient_id and decided_event.actor_kind == "staff"
    # Names of fields, never their values.
    for event in events:
        assert NEW_ADDRESS not in event.details and "BHH123456" not in event.details

    own = portal_http.get(
        f"{practice.patient_url}/demographic-changes",
        headers=patient_headers(portal_http, practice),
        timeout=10,
    ).json()
    outcome = {f["field"]: f["decision"] for f in own[0]["fields"]}
    assert outcome["phone"] == "rejected" and outcome["address_line1"] == "accepted"
    assert own[0]["status"] == "decided"

    decided_list = portal_http.get(
        f"{practice.staff_url}/demographic-changes",
        params={"status": "decided"},
        headers=desk,
        timeout=10,
    ).json()
    assert [c["id"] for c in decided_list] == [change["id"]]


def test_a_card_picture_is_stored_in_chunks(
    portal_http: requests.Session, practice: PortalPractice, portal_database: Database
) -> None:
    patient = patient_headers(portal_http, practice)
    large = card_png(1600, 1000)
    # Random-looking rows so it compresses badly and spans several chunks.
    data = large + bytes(range(256)) * 600
    uploaded = upload(portal_http, practice, patient, data)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["size"] == len(data)
    with portal_database.read() as session:
        chunks = list(
            session.scalars(
                select(CardImageChunk.number).where(
                    CardImageChunk.image_id == uploaded.json()["id"]
                )
            )
        )
    assert len(chunks) > 1


def test_bad_pictures_and_bad_text_are_refused(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    # Typed by content: a PNG's name on a text file does not make it one.
    assert upload(portal_http, practice, patient, b"GIF89a not allowed").status_code == 415
    assert upload(portal_http, practice, patient, b"").status_code == 415
    too_big = card_png() + b"\0" * MAX_CARD_BYTES
    assert upload(portal_http, practice, patient, too_big).status_code == 413
    patient_id = practice.patients[0].patient_ids[0]
    hostile = submit(
        portal_http, practice, patient, patient_id=patient_id, city="Spring\u202efield"
    )
    assert hostile.status_code == 422 and "U+202E" in hostile.json()["detail"]
    assert submit(portal_http, practice, patient, patient_id=patient_id).status_code == 422
    assert (
        submit(portal_http, practice, patient, patient_id=patient_id, email="not an email")
    ).status_code == 422
    same = upload(portal_http, practice, patient, card_png()).json()["id"]
    twice = submit(
        portal_http,
        practice,
        patient,
        patient_id=patient_id,
        insurance_card_front=same,
        insurance_card_back=same,
    )
    assert twice.status_code == 422


def test_a_decision_must_cover_exactly_the_changes_fields(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    patient = patient_headers(portal_http, practice)
    change = submit(
        portal_http,
        practice,
        patient,
        patient_id=practice.patients[0].patient_ids[0],
        city="Amherst",
        postal_code="01002",
    ).json()
    desk = staff_headers(portal_http, practice)
    partial = decide(portal_http, practice, change["id"], {"city": "accepted"}, desk)
    assert partial.status_code == 422 and "ZIP code" in partial.json()["detail"]
    extra = decide(
        portal_http,
        practice,
        change["id"],
        {"city": "accepted", "postal_code": "accepted", "phone": "rejected"},
        desk,
    )
    assert extra.status_code == 422
    wrong = decide(
        portal_http, practice, change["id"], {"city": "maybe", "postal_code": "accepted"}, desk
    )
    assert wrong.status_code == 422


@pytest.fixture
def other_practice(portal_server: RunningPortal, portal_database: Database) -> PortalPractice:
    return make_practice(portal_database, portal_server, patients=5, accounts=1)


def test_another_practice_or_account_gets_404(
    portal_http: requests.Session, practice: PortalPractice, other_practice: PortalPractice
) -> None:
    change, back = _full_change(portal_http, practice)
    stranger = staff_headers(portal_http, other_practice)
    url = practice.staff_url
    assert (
        portal_http.get(f"{url}/demographic-changes/{change['id']}", headers=stranger, timeout=10)
    ).status_code == 404
    assert (
        portal_http.get(f"{url}/card-images/{back}", headers=stranger, timeout=10).status_code
        == 404
    )
    decisions = {f["field"]: "accepted" for f in change["fields"]}
    assert decide(portal_http, practice, change["id"], decisions, stranger).status_code == 404
    assert portal_http.get(f"{url}/demographic-changes", headers=stranger, timeout=10).json() == []

    # Another account may neither name this account's picture nor change its patient.
    other = patient_headers(portal_http, practice, 1)
    picture = upload(portal_http, practice, patient_headers(portal_http, practice), card_png())
    other_patient = practice.patients[1].patient_ids[0]
    borrowed = submit(
        portal_http,
        practice,
        other,
        patient_id=other_patient,
        insurance_card_front=picture.json()["id"],
    )
    assert borrowed.status_code == 404
    not_linked = submit(
        portal_http, practice, other, patient_id=practice.patients[0].patient_ids[0], city="X"
    )
    assert not_linked.status_code == 404
    own = portal_http.get(f"{practice.patient_url}/demographic-changes", headers=other, timeout=10)
    assert own.json() == []
    # An image not yet named by a change belongs to no practice: staff cannot read it.
    desk = staff_headers(portal_http, practice)
    unsent = portal_http.get(f"{url}/card-images/{picture.json()['id']}", headers=desk, timeout=10)
    assert unsent.status_code == 404
