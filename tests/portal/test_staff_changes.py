"""The change feed: order, paging, isolation, and long-polling."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests
from sqlalchemy import select

from tests.fixtures_portal import PortalFactory, PortalPractice, http_session, make_practice
from tests.portal.helpers import idem, patient_headers, staff_headers
from tests.sync.batches import batch_data, ledger_batch, line_data
from visitdesk.api.wire import FEED_LEVEL, FEED_LEVEL_HEADER
from visitdesk.portal.checkins import arrivals
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount, new_id
from visitdesk.portal.web.server import RunningPortal


def _page(
    http: requests.Session, practice: PortalPractice, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = http.get(f"{practice.staff_url}/changes", params=params, headers=headers, timeout=40)
    assert response.status_code == 200, response.text
    return response.json()


def test_feed_is_ordered_and_pages_with_more(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice, "manager")
    everything = _page(portal_http, practice, headers, after=0, limit=5000)
    items = everything["items"]
    assert not everything["more"]
    seqs = [item["seq"] for item in items]
    assert seqs == list(range(1, len(items) + 1))
    assert everything["last_seq"] == seqs[-1]
    kinds = {item["kind"] for item in items}
    assert kinds == {"patient", "appointment", "ledger_line"}
    assert sum(1 for item in items if item["kind"] == "patient") == len(practice.patient_ids)

    collected: list[int] = []
    after = 0
    while True:
        page = _page(portal_http, practice, headers, after=after, limit=7)
        collected += [item["seq"] for item in page["items"]]
        assert len(page["items"]) <= 7
        after = page["last_seq"]
        if not page["more"]:
            break
    assert collected == seqs

    empty = _page(portal_http, practice, headers, after=after)
    assert empty == {"items": [], "last_seq": after, "more": False}


def test_feed_only_shows_the_callers_practice(
    portal_http: requests.Session,
    practice: PortalPractice,
    portal_server: RunningPortal,
    portal_database: Database,
) -> None:
    other = make_practice(portal_database, portal_server, patients=20, accounts=1)
    mine = _page(portal_http, practice, staff_headers(portal_http, practice), limit=5000)
    theirs = _page(portal_http, other, staff_headers(portal_http, other), limit=5000)
    my_ids = {item["id"] for item in mine["items"]}
    their_ids = {item["id"] for item in theirs["items"]}
    assert my_ids.isdisjoint(their_ids)
    assert set(practice.patient_ids) <= my_ids
    assert theirs["items"][0]["seq"] == 1  # each practice has its own sequence


def test_limit_and_wait_are_validated(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    for params in ({"limit": 0}, {"limit": 5001}, {"wait": 31}, {"after": -1}):
        response = portal_http.get(
            f"{practice.staff_url}/changes", params=params, headers=headers, timeout=10
        )
        assert response.status_code == 422, params


def test_long_poll_wakes_promptly_on_a_patient_check_in(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    start = _page(portal_http, practice, headers, limit=5000)["last_seq"]
    result: dict[str, Any] = {}

    def poll() -> None:
        with http_session(practice.ca_file) as http:
            result["page"] = _page(http, practice, headers, after=start, wait=20)
        result["at"] = time.monotonic()

    poller = threading.Thread(target=poll)
    poller.start()
    threading.Event().wait(0.3)  # let the poll reach its wait
    assert "page" not in result
    tap_headers = patient_headers(portal_http, practice)
    tapped_at = time.monotonic()
    tap = portal_http.post(
        f"{practice.patient_url}/checkins",
        json={"patient_id": practice.patients[0].patient_ids[0]},
        headers=tap_headers,
        timeout=10,
    )
    assert tap.status_code == 201
    poller.join(10)
    assert not poller.is_alive()
    # The session portal re-checks the DB only every 5 s, so this is the in-process wake-up.
    assert result["at"] - tapped_at < 1.0
    items = result["page"]["items"]
    # The tap also begins the arrival chat: its thread items come in the same page.
    checkins = [i for i in items if i["kind"] == "checkin"]
    assert [i["id"] for i in checkins] == [tap.json()["id"]]
    assert checkins[0]["data"]["status"] == "arrived"


def test_long_poll_returns_an_empty_page_at_timeout(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    headers = staff_headers(portal_http, practice)
    start = _page(portal_http, practice, headers, limit=5000)["last_seq"]
    begun = time.monotonic()
    page = _page(portal_http, practice, headers, after=start, wait=0.4)
    assert page == {"items": [], "last_seq": start, "more": False}
    assert 0.35 < time.monotonic() - begun < 3


def test_long_poll_sees_writes_from_another_process(
    portal_factory: PortalFactory,
) -> None:
    """Writes that bypass this process's notifier (another worker) arrive by the DB re-check."""
    portal = portal_factory.start(longpoll_recheck_seconds=0.2)
    outside = Database.from_url(portal.config.resolved_database_url)  # no notifier: "other worker"
    try:
        practice = make_practice(outside, portal, patients=20, accounts=1)
        with http_session(portal.ca_file) as http:
            headers = staff_headers(http, practice)
            start = _page(http, practice, headers, limit=5000)["last_seq"]
            result: dict[str, Any] = {}

            def poll() -> None:
                with http_session(portal.ca_file) as inner:
                    result["page"] = _page(inner, practice, headers, after=start, wait=20)

            poller = threading.Thread(target=poll)
            poller.start()
            threading.Event().wait(0.3)
            with outside.write() as session:
                account_cred = practice.patients[0]
                account_id = session.scalar(
                    select(PatientAccount.id)
                    .join(AccountLink, AccountLink.account_id == PatientAccount.id)
                    .where(AccountLink.patient_id == account_cred.patient_ids[0])
                )
                assert account_id is not None
                arrivals.tap_im_here(session, account_id, account_cred.patient_ids[0], None)
            written_at = time.monotonic()
            poller.join(10)
            assert time.monotonic() - written_at < 1.5
            kinds = {i["kind"] for i in result["page"]["items"]}
            assert kinds == {"checkin", "thread", "thread_message"}
    finally:
        outside.dispose()


def test_each_role_reads_only_the_kinds_its_screens_need(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    def kinds(role: str) -> set[str]:
        headers = staff_headers(portal_http, practice, role)
        return {i["kind"] for i in _page(portal_http, practice, headers, limit=5000)["items"]}

    assert kinds("manager") == {"patient", "appointment", "ledger_line"}
    assert kinds("front_desk") == {"patient", "appointment"}  # no ledgers, no payments
    assert kinds("billing") == {"patient", "ledger_line"}  # no appointments, codes or queue


def test_a_desk_that_cannot_read_batches_is_told_to_update(
    portal_http: requests.Session, portal_server: RunningPortal, portal_database: Database
) -> None:
    practice = make_practice(portal_database, portal_server, patients=3, accounts=1)
    manager = staff_headers(portal_http, practice, "manager")
    with portal_database.read() as session:
        mrn = session.scalars(
            select(Patient.mrn).where(Patient.id == practice.patient_ids[0])
        ).one()
    body = ledger_batch(["L-BATCH-1"], mrn).model_dump(mode="json")
    put = portal_http.put(f"{practice.staff_url}/ledger", json=body, headers={**manager, **idem()})
    assert put.status_code == 200, put.text

    level = {FEED_LEVEL_HEADER: str(FEED_LEVEL)}
    for older in (
        {},
        {FEED_LEVEL_HEADER: "1"},
        {FEED_LEVEL_HEADER: "2"},  # reads batches, but not batches in columns
        {FEED_LEVEL_HEADER: "2.0"},
        {FEED_LEVEL_HEADER: "x"},
        {FEED_LEVEL_HEADER: "9" * 5000},  # too many digits for int(): still a plain refusal
    ):
        # A desk older than the batch would skip its lines as a kind it does not know.
        refused = portal_http.get(
            f"{practice.staff_url}/changes", params={"limit": 5000}, headers={**manager, **older}
        )
        assert refused.status_code == 426, refused.text
        assert "install the current VisitDesk" in refused.json()["detail"]
    page = _page(portal_http, practice, {**manager, **level}, limit=5000)
    (batch,) = [item for item in page["items"] if item["kind"] == "ledger_columns"]
    assert batch["data"]["lines"]["external_id"] == ["L-BATCH-1"]
    # The front desk never receives ledgers, so an older front desk still reads its feed; so
    # does any desk over a stretch of the feed without a batch.
    front = staff_headers(portal_http, practice, "front_desk")
    assert _page(portal_http, practice, front, limit=5000)["items"]
    assert _page(portal_http, practice, manager, after=0, limit=1)["items"]
    for odd in ("0", "x", "9" * 5000):
        headers = {**manager, FEED_LEVEL_HEADER: odd}
        assert _page(portal_http, practice, headers, after=0, limit=1)["items"]


def test_a_desk_reading_level_2_still_reads_batches_written_one_object_per_line(
    portal_http: requests.Session, portal_server: RunningPortal, portal_database: Database
) -> None:
    # A portal updated in place keeps the batch items it wrote before (kind ledger_lines): a
    # level-2 desk reads them, and so does a current one.
    practice = make_practice(portal_database, portal_server, patients=1, accounts=1)
    data = batch_data([line_data("L-OLD-1")])
    with portal_database.write() as session:
        append_changes(
            session,
            practice.practice_id,
            [NewChange("ledger_lines", new_id(), json.dumps(data))],
        )
    manager = staff_headers(portal_http, practice, "manager")
    for level in ("2", str(FEED_LEVEL)):
        page = _page(portal_http, practice, {**manager, FEED_LEVEL_HEADER: level}, limit=5000)
        (batch,) = [item for item in page["items"] if item["kind"] == "ledger_lines"]
        assert batch["data"] == data
    refused = portal_http.get(
        f"{practice.staff_url}/changes", params={"limit": 5000}, headers=manager, timeout=10
    )
    assert refused.status_code == 426, refused.text
