"""The practice's quick texts: one set for every workstation, written by managers only."""

from __future__ import annotations

import requests

from tests.fixtures_portal import PortalPractice
from tests.portal.helpers import idem, last_seq, staff_headers
from visitdesk.api.wire_messages import DEFAULT_QUICK_TEXTS


def _url(practice: PortalPractice) -> str:
    return f"{practice.staff_url}/quick-texts"


def test_a_managers_set_replaces_the_defaults_and_reaches_the_feed(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    front = staff_headers(portal_http, practice)
    first = portal_http.get(_url(practice), headers=front, timeout=10)
    assert [t["title"] for t in first.json()["texts"]] == [t for t, _ in DEFAULT_QUICK_TEXTS]
    after = last_seq(portal_http, practice, front)

    manager = {**staff_headers(portal_http, practice, "manager"), **idem()}
    texts = {"texts": [{"title": "Parking", "body": "Parking is behind {practice_name}."}]}
    saved = portal_http.put(_url(practice), json=texts, headers=manager, timeout=10)
    assert saved.status_code == 200, saved.text
    # A set without the acknowledgement mark: acknowledging an arrival then sends no text.
    stored = {"texts": [{**texts["texts"][0], "on_acknowledge": False}]}
    assert portal_http.get(_url(practice), headers=front, timeout=10).json() == stored

    page = portal_http.get(
        f"{practice.staff_url}/changes", params={"after": after}, headers=front, timeout=10
    ).json()
    [item] = [i for i in page["items"] if i["kind"] == "quick_texts"]
    assert item["data"] == stored

    marked = {"title": "Seat", "body": "Please take a seat.", "on_acknowledge": True}
    two = {"texts": [marked, {**marked, "title": "Seat 2"}]}
    refused = portal_http.put(_url(practice), json=two, headers={**manager, **idem()}, timeout=10)
    assert refused.status_code == 422
    assert "Only one quick text" in refused.text


def test_unknown_placeholders_and_empty_texts_are_refused_in_words(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    manager = staff_headers(portal_http, practice, "manager")
    for body, words in (
        ("Hi {first_name}", "Unknown placeholder {first_name}"),
        ("Hi {patient_first_name", "brace without its pair"),
        ("   ", "texts.0.body"),
    ):
        refused = portal_http.put(
            _url(practice),
            json={"texts": [{"title": "Hello", "body": body}]},
            headers={**manager, **idem()},
            timeout=10,
        )
        assert refused.status_code == 422
        assert words in refused.json()["detail"]
    front = {**staff_headers(portal_http, practice), **idem()}
    forbidden = portal_http.put(_url(practice), json={"texts": []}, headers=front, timeout=10)
    assert forbidden.status_code == 403
