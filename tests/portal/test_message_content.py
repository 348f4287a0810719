"""Hostile and odd content in secure messages: kept as text or refused with a clear 4xx."""

from __future__ import annotations

import io
import json

import requests
from reportlab.pdfgen import canvas

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import patient_headers, staff_headers
from tests.portal.messages_api import start_thread
from visitdesk.api.wire_messages import MAX_ATTACHMENT_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
WINDOWS_EXE = b"MZ\x90\x00" + b"\x00" * 200


def _pdf() -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Insurance card, front")
    page.save()
    return buffer.getvalue()


def _upload(
    http: requests.Session,
    practice: PortalPractice,
    headers: dict[str, str],
    thread_id: str,
    content: bytes,
    filename: str,
) -> requests.Response:
    return http.post(
        f"{practice.patient_url}/threads/{thread_id}/attachments",
        params={"filename": filename},
        data=content,
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=20,
    )


def test_markup_and_direction_overrides_are_kept_verbatim_as_text(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    body = "<script>alert(1)</script><b>bold</b> \u202eevil\u202c end"
    thread = start_thread(portal_http, practice, headers, practice.patients[0].patient_ids[0], body)
    assert thread["messages"][0]["body"] == body


def test_nul_bytes_are_refused_with_a_clear_message(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    response = portal_http.post(
        f"{practice.patient_url}/threads",
        json={
            "patient_id": practice.patients[0].patient_ids[0],
            "topic": "other",
            "body": "a\x00b",
        },
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 422
    assert "NUL" in json.dumps(response.json())


def test_a_one_megabyte_body_is_refused_before_it_is_read(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, headers, practice.patients[0].patient_ids[0])
    huge = {"body": "x" * (1024 * 1024)}
    for url, hdrs in (
        (f"{practice.patient_url}/threads/{thread['id']}/messages", headers),
        (
            f"{practice.staff_url}/threads/{thread['id']}/messages",
            {**staff_headers(portal_http, practice), "Idempotency-Key": "big-1"},
        ),
    ):
        response = portal_http.post(url, json=huge, headers=hdrs, timeout=10)
        # Refused from its declared length by the route's own limit, before a byte is parsed.
        assert response.status_code == 413
        assert "Too Large" in response.text and "xxxx" not in response.text


def test_attachments_round_trip_and_are_typed_by_content(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, headers, practice.patients[0].patient_ids[0])
    pdf = _pdf()
    uploaded = _upload(portal_http, practice, headers, thread["id"], pdf, "../../card.pdf")
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["content_type"] == "application/pdf"
    assert uploaded.json()["filename"] == "card.pdf"
    # A PNG named .pdf is a PNG, and is named so.
    image = _upload(portal_http, practice, headers, thread["id"], PNG, "scan\u202egnp.pdf")
    assert image.json()["content_type"] == "image/png"
    assert image.json()["filename"] == "scangnp.png"
    message = portal_http.post(
        f"{practice.patient_url}/threads/{thread['id']}/messages",
        json={"body": "Here is my card.", "attachment_ids": [uploaded.json()["id"]]},
        headers=headers,
        timeout=10,
    )
    assert message.status_code == 201
    assert [a["id"] for a in message.json()["attachments"]] == [uploaded.json()["id"]]
    staff = staff_headers(portal_http, practice)
    got = portal_http.get(
        f"{practice.staff_url}/threads/{thread['id']}/attachments/{uploaded.json()['id']}",
        headers=staff,
        timeout=10,
    )
    assert got.status_code == 200
    assert got.content == pdf
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    # An attachment cannot be carried twice.
    again = portal_http.post(
        f"{practice.patient_url}/threads/{thread['id']}/messages",
        json={"body": "again", "attachment_ids": [uploaded.json()["id"]]},
        headers=headers,
        timeout=10,
    )
    assert again.status_code == 404


def test_an_executable_named_pdf_is_refused(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, headers, practice.patients[0].patient_ids[0])
    for content in (ELF, WINDOWS_EXE, b""):
        response = _upload(portal_http, practice, headers, thread["id"], content, "results.pdf")
        assert response.status_code == 415
        assert "not a PDF, PNG or JPEG" in response.json()["detail"]


def test_an_oversized_attachment_is_refused(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = patient_headers(portal_http, practice)
    thread = start_thread(portal_http, practice, headers, practice.patients[0].patient_ids[0])
    too_big = b"%PDF-" + b"0" * MAX_ATTACHMENT_BYTES
    response = _upload(portal_http, practice, headers, thread["id"], too_big, "big.pdf")
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit still holds while streaming
        yield b"%PDF-"
        for _ in range(MAX_ATTACHMENT_BYTES // 65536 + 2):
            yield b"0" * 65536

    streamed = portal_http.post(
        f"{practice.patient_url}/threads/{thread['id']}/attachments",
        data=chunks(),
        headers=headers,
        timeout=20,
    )
    assert streamed.status_code == 413


def test_an_attachment_of_another_thread_or_account_is_404(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    owner = patient_headers(portal_http, practice, 0)
    other = patient_headers(portal_http, practice, 1)
    mine = start_thread(portal_http, practice, owner, practice.patients[0].patient_ids[0])
    theirs = start_thread(portal_http, practice, other, practice.patients[1].patient_ids[0])
    file_id = _upload(portal_http, practice, owner, mine["id"], PNG, "a.png").json()["id"]
    url = f"{practice.patient_url}/threads/{theirs['id']}/attachments/{file_id}"
    assert portal_http.get(url, headers=other, timeout=10).status_code == 404
    own_url = f"{practice.patient_url}/threads/{mine['id']}/attachments/{file_id}"
    assert portal_http.get(own_url, headers=other, timeout=10).status_code == 404
    assert portal_http.get(own_url, headers=owner, timeout=10).status_code == 200
    staff = staff_headers(portal_http, practice)
    wrong_thread = f"{practice.staff_url}/threads/{theirs['id']}/attachments/{file_id}"
    assert portal_http.get(wrong_thread, headers=staff, timeout=10).status_code == 404
    # Another account cannot attach my upload to its own thread.
    stolen = portal_http.post(
        f"{practice.patient_url}/threads/{theirs['id']}/messages",
        json={"body": "x", "attachment_ids": [file_id]},
        headers=other,
        timeout=10,
    )
    assert stolen.status_code == 404
    assert _upload(portal_http, practice, other, mine["id"], PNG, "a.png").status_code == 404
