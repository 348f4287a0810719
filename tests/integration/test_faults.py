"""Sync under faults, on the real portal over loopback TLS through tests/faultproxy.py.

- A desk's optimistic change is reconciled with the portal once its outbox item settles, however
  the answer was lost, and whatever the feed says later wins.
- A push whose outcome cannot be recorded (read-only or full local store) neither ends the push
  worker nor hides: the status says why changes wait, and they go once the store is writable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.faultproxy import Action, Fault, FaultProxy
from tests.fixtures_portal import PortalFactory, PortalPractice
from tests.integration.desks import Workstation, feed_for, status_on_portal
from tests.integration.test_sync_engine import extra_portal
from tests.patient_flows import Flows
from tests.storefaults import StoreFaults
from tests.sync.fakes import wait_for
from tests.sync.portal_helpers import patient_checkin, staff_client
from visitdesk.api.wire import CheckInStatus, PatientRecord
from visitdesk.api.wire_registration import SecurityCodeCreate
from visitdesk.desktop.models import codes, registrations
from visitdesk.desktop.models.reconcile import HeldFeedItem
from visitdesk.desktop.ops.codes import CodeOps
from visitdesk.desktop.tasks import TaskRunner
from visitdesk.portal.web.server import RunningPortal
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import STORE_FULL, STORE_READ_ONLY
from visitdesk.sync.errors import AuthExpired, PortalError

ACK, ROOMED = CheckInStatus.ACKNOWLEDGED, CheckInStatus.ROOMED

#: How each fault loses the answer to a call; `acted` says whether the portal acted on it.
LOST_ANSWERS = {
    "answer dropped": (Fault("drop", "POST", r"/checkins/[^/]+/status$"), True),
    "answer late": (Fault("delay", "POST", r"/checkins/[^/]+/status$", seconds=1.5), True),
    "5xx after acting": (
        Fault("status", "POST", r"/checkins/[^/]+/status$", status=502, forward=True),
        True,
    ),
    "reset before": (Fault("reset", "POST", r"/checkins/[^/]+/status$"), False),
    "503 before": (Fault("status", "POST", r"/checkins/[^/]+/status$", status=503), False),
}


def _two_desks(
    practice: PortalPractice,
    portal: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> tuple[Workstation, Workstation, FaultProxy, str]:
    """Desk A through the fault proxy, desk B direct, both caught up on a fresh check-in."""
    proxy = fault_proxy(portal)
    # A short read timeout: "answer late" outlasts it without slowing the suite.
    client = staff_client(practice, base_url=proxy.base_url, timeout=(2.0, 1.0))
    a = workstations(practice, name="a", client=client, start=False)
    b = workstations(practice, name="b", start=False)
    checkin_id = patient_checkin(practice)["id"]
    a.engine.pull_once()
    b.engine.pull_once()
    return a, b, proxy, checkin_id


def _status(desk: Workstation, checkin_id: str) -> CheckInStatus:
    row = desk.store.checkin(checkin_id)
    assert row is not None
    return row.status


def _held(desk: Workstation) -> list[tuple[str, str, int]]:
    with desk.store.read() as session:
        return [(h.kind, h.record_id, h.seq) for h in session.scalars(select(HeldFeedItem))]


@pytest.mark.parametrize("fault", list(LOST_ANSWERS))
def test_a_lost_answer_and_another_desks_change_converge(
    fault: str,
    practice: PortalPractice,
    portal_server: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    a, b, proxy, checkin_id = _two_desks(practice, portal_server, fault_proxy, workstations)
    template, acted = LOST_ANSWERS[fault]
    proxy.add(Fault(**{**template.__dict__, "hits": 0}))

    a.store.set_checkin_status(checkin_id, ACK, "Desk A")
    with pytest.raises(PortalError):
        a.engine.push_once()
    assert [h.action for h in proxy.hits] == [template.action]
    assert status_on_portal(b.client, checkin_id) == ("acknowledged" if acted else "arrived")

    # Meanwhile another workstation rooms the patient, and desk A pulls that while its own
    # change is still in flight: the desk keeps showing its change, the portal's word is held.
    b.engine.pull_once()
    b.store.set_checkin_status(checkin_id, ROOMED, "Desk B")
    assert b.engine.push_once() == 1
    a.engine.pull_once()
    assert _status(a, checkin_id) is ACK
    assert [(kind, rid) for kind, rid, _ in _held(a)] == [("checkin", checkin_id)]

    # The retry settles the change (replayed, or refused as a step back: a visit never moves
    # back from roomed to acknowledged): the row shows what the portal holds.
    assert a.engine.push_once() == 1
    on_portal = status_on_portal(b.client, checkin_id)
    assert on_portal == "roomed"
    assert _status(a, checkin_id).value == on_portal
    assert _held(a) == []
    a.engine.pull_once()
    assert _status(a, checkin_id).value == on_portal
    statuses = [i.data["status"] for i in feed_for(b.client, "checkin", checkin_id)]
    # Applied once if it got there first, however often it was sent; never after the rooming.
    assert statuses.count("acknowledged") == (1 if acted else 0)


def test_a_replayed_answer_is_overtaken_by_the_feed(
    practice: PortalPractice,
    portal_server: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    """The replayed first answer is all the desk knows at settlement; the next pull wins."""
    a, b, proxy, checkin_id = _two_desks(practice, portal_server, fault_proxy, workstations)
    proxy.add(Fault("drop", "POST", r"/status$"))
    a.store.set_checkin_status(checkin_id, ACK, "Desk A")
    with pytest.raises(PortalError):
        a.engine.push_once()
    b.engine.pull_once()
    b.store.set_checkin_status(checkin_id, ROOMED, "Desk B")
    b.engine.push_once()

    assert a.engine.push_once() == 1  # the portal replays "acknowledged"
    assert _status(a, checkin_id) is ACK
    a.engine.pull_once()
    assert _status(a, checkin_id) is ROOMED


def test_a_refused_change_falls_back_to_the_portals_state(
    practice: PortalPractice,
    portal_server: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    a, b, proxy, checkin_id = _two_desks(practice, portal_server, fault_proxy, workstations)
    refuse = Fault("status", "POST", r"/status$", status=409, times=-1)
    proxy.add(refuse)

    # Refused with nothing from the feed in between: back to what the desk knew of the portal.
    a.store.set_checkin_status(checkin_id, ACK, "Desk A")
    assert a.engine.push_once() == 0
    assert len(a.store.failed_outbox_items()) == 1
    assert _status(a, checkin_id) is CheckInStatus.ARRIVED

    # Refused after the feed brought another desk's change: that change shows.
    a.store.set_checkin_status(checkin_id, ACK, "Desk A")
    b.store.set_checkin_status(checkin_id, ROOMED, "Desk B")
    b.engine.push_once()
    a.engine.pull_once()
    assert _status(a, checkin_id) is ACK
    assert a.engine.push_once() == 0
    assert _status(a, checkin_id) is ROOMED
    assert _held(a) == []

    # Retried by the user once the portal accepts again: settled like any other.
    proxy.clear()
    for item in a.store.failed_outbox_items():
        a.store.retry_outbox_item(item.id)
    assert a.engine.push_once() == 2
    assert _status(a, checkin_id).value == status_on_portal(b.client, checkin_id)


def test_running_workers_converge_and_tell_the_board(
    practice: PortalPractice,
    portal_server: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    proxy = fault_proxy(portal_server)
    client = staff_client(practice, base_url=proxy.base_url)
    b = workstations(practice, name="b")
    checkin_id = patient_checkin(practice)["id"]
    # A's status posts: the first answer is lost, then the portal is "busy" until B has acted.
    proxy.add(Fault("drop", "POST", r"/status$"))
    busy = proxy.add(Fault("status", "POST", r"/status$", status=503, times=-1))
    a = workstations(practice, name="a", client=client)
    assert wait_for(lambda: a.store.checkin(checkin_id) is not None, timeout=5)
    a.store.set_checkin_status(checkin_id, ACK, "Desk A")
    a.engine.kick()
    assert wait_for(lambda: busy.hits > 0, timeout=5)
    assert wait_for(lambda: _status(b, checkin_id) is ACK, timeout=5)
    b.store.set_checkin_status(checkin_id, ROOMED, "Desk B")
    b.engine.kick()
    assert wait_for(lambda: _held(a) and _held(a)[0][2] > 0, timeout=5)
    assert _status(a, checkin_id) is ACK
    changes_before = len(a.listener.changes)
    proxy.clear()
    assert wait_for(lambda: _status(a, checkin_id) is ROOMED, timeout=5)
    assert a.engine.sync_until_idle(10)
    assert _status(a, checkin_id) is ROOMED
    assert any("checkin" in kinds for kinds in a.listener.changes[changes_before:])


# ---------------------------------------------------------------------------- stalled pushes


def test_the_push_worker_outlives_a_read_only_store_and_says_so(
    practice: PortalPractice,
    portal_server: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    proxy = fault_proxy(portal_server)
    desk = workstations(practice, client=staff_client(practice, base_url=proxy.base_url))
    checkin_id = patient_checkin(practice)["id"]
    assert wait_for(lambda: desk.store.checkin(checkin_id) is not None, timeout=5)
    store_faults = StoreFaults(desk.store)
    observer = staff_client(practice, "manager")
    try:
        # The portal acts at once; its answer is held back until the store has become read-only,
        # so the worker learns the outcome exactly when it cannot record it.
        proxy.add(Fault("delay", "POST", r"/status$", seconds=0.5))
        desk.store.set_checkin_status(checkin_id, ACK, "Desk One")
        desk.engine.kick()
        assert wait_for(lambda: status_on_portal(observer, checkin_id) == "acknowledged")
        store_faults.read_only = True
        assert wait_for(lambda: desk.engine.status.store_problem == STORE_READ_ONLY, timeout=10)
        assert desk.store.outbox_pending_count() == 1
        assert desk.engine.status.outbox_pending == 1
        # It keeps saying so, and keeps trying, for as long as it lasts.
        attempts = len(proxy.hits) + _posts(proxy)
        assert wait_for(lambda: len(proxy.hits) + _posts(proxy) > attempts, timeout=10)
        assert desk.engine.status.store_problem == STORE_READ_ONLY
        assert desk.engine.status.online is True
        push = [t for t in desk.engine._threads if "-push-" in t.name]
        assert push and all(t.is_alive() for t in push)

        store_faults.read_only = False
        assert wait_for(lambda: desk.store.outbox_pending_count() == 0, timeout=15)
        assert wait_for(lambda: desk.engine.status.store_problem is None, timeout=5)
        # The engine's status is refreshed after the store's count: wait for it too.
        assert wait_for(lambda: desk.engine.status.outbox_pending == 0, timeout=5)
        assert _status(desk, checkin_id) is ACK
        statuses = [i.data["status"] for i in feed_for(observer, "checkin", checkin_id)]
        assert statuses == ["arrived", "acknowledged"]
        # The worker still works: the next change goes at once.
        desk.store.set_checkin_status(checkin_id, ROOMED, "Desk One")
        desk.engine.kick()
        assert wait_for(lambda: status_on_portal(observer, checkin_id) == "roomed", timeout=5)
    finally:
        store_faults.remove()
        observer.close()


def _posts(proxy: FaultProxy) -> int:
    return proxy.requests.get("POST", 0)


def test_a_full_store_stops_the_pull_and_says_so_until_there_is_room(
    practice: PortalPractice, workstations: Callable[..., Workstation]
) -> None:
    desk = workstations(practice)
    manager = staff_client(practice, "manager")
    store_faults = StoreFaults(desk.store)
    try:
        store_faults.full = True
        # Enough new records that writing them needs pages the "disk" no longer has.
        records = [
            PatientRecord(
                mrn=f"FULL-{n}",
                first_name="Disk",
                last_name=f"Full{n}",
                date_of_birth=date(1980, 1, 1) + timedelta(days=n),
                address_line1="1 Long Street, Apartment " + "9" * 40,
            )
            for n in range(400)
        ]
        manager.upsert_patients(records, "full-disk-import")
        assert wait_for(lambda: desk.engine.status.store_problem == STORE_FULL, timeout=10)
        before = desk.store.patient_count()
        assert "FULL-0" not in desk.store.patient_mrns()
        store_faults.full = False
        assert wait_for(lambda: desk.store.patient_count() == before + 400, timeout=15)
        assert wait_for(lambda: desk.engine.status.store_problem is None, timeout=5)
    finally:
        store_faults.remove()
        manager.close()


# ---------------------------------------------------------------------------- sessions


def test_a_lost_refresh_answer_does_not_sign_the_desk_out(
    practice: PortalPractice,
    portal_server: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    proxy = fault_proxy(portal_server)
    token_store = MemoryTokenStore()
    client = staff_client(practice, base_url=proxy.base_url, token_store=token_store)
    desk = workstations(practice, client=client)
    signed_in_with = token_store.get()
    proxy.add(Fault("drop", "POST", r"/sessions/refresh$"))
    desk.client._access_token = "expired"  # the next call must refresh
    assert wait_for(lambda: token_store.get() not in (None, signed_in_with), timeout=10)
    assert [h.action for h in proxy.hits] == ["drop"]
    checkin_id = patient_checkin(practice)["id"]
    assert wait_for(lambda: desk.store.checkin(checkin_id) is not None, timeout=10)
    assert not desk.engine.status.auth_needed
    # The session goes on: the change reaches the portal under the rotated token.
    desk.store.set_checkin_status(checkin_id, ACK, "Desk One")
    desk.engine.kick()
    observer = staff_client(practice, "manager")
    assert wait_for(lambda: status_on_portal(observer, checkin_id) == "acknowledged", timeout=5)
    observer.close()


def test_without_a_grace_window_a_lost_refresh_answer_ends_the_session(
    portal_factory: PortalFactory,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
) -> None:
    portal, practice = extra_portal(portal_factory, refresh_reuse_grace=timedelta(0))
    proxy = fault_proxy(portal)
    client = staff_client(practice, base_url=proxy.base_url)
    proxy.add(Fault("drop", "POST", r"/sessions/refresh$"))
    with pytest.raises(PortalError):
        client.refresh()
    with pytest.raises(AuthExpired):
        client.refresh()
    client.close()


# ---------------------------------------------------------------------------- registrations


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_a_registration_decided_on_two_desks_converges(
    fault: Action,
    flows: Flows,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    practice = flows.practice
    patient_id = flows.add_patient("Nadine", "Nomatch-Smith", "2001-01-01")
    _address, headers = flows.email_account("Nadia", "Nomatch")
    started = flows.connect(headers, "Nadia", "Nomatch", "2001-01-01", phone="413 555 0000")
    registration_id = started.json()["registration_id"]
    proxy = fault_proxy(flows.portal)
    a = workstations(
        practice, name="a", client=staff_client(practice, base_url=proxy.base_url), start=False
    )
    b = workstations(practice, name="b", start=False)
    a.engine.pull_once()
    b.engine.pull_once()

    proxy.add(Fault(fault, "POST", r"/registrations/[^/]+/match$"))
    with a.store.write() as uow:
        registrations.record_match(uow.session, registration_id, patient_id, 31.5)
    with pytest.raises(PortalError):
        a.engine.push_once()
    with b.store.write() as uow:
        registrations.record_reject(uow.session, registration_id, "no_record")
    b.engine.push_once()
    a.engine.pull_once()
    assert _queue(a) == []  # the desk's own decision still shows

    sent = a.engine.push_once()
    on_portal = feed_for(b.client, "registration", registration_id)[-1].data["status"]
    # The decision that reached the portal first stands; the other desk's is refused.
    assert on_portal == ("matched" if fault == "drop" else "rejected")
    assert sent == (1 if fault == "drop" else 0)
    b.engine.pull_once()
    for desk in (a, b):
        with desk.store.read() as session:
            row = registrations.get(session, registration_id)
            assert row is not None and row.status == on_portal
        assert _queue(desk) == []
    assert _held(a) == []


# ---------------------------------------------------------------------------- security codes


def _queue(desk: Workstation) -> list[registrations.QueueRow]:
    with desk.store.read() as session:
        return registrations.queue(session)


def _codes(desk: Workstation) -> list[codes.SecurityCodeRow]:
    with desk.store.read() as session:
        return codes.list_codes(session)


def _result(qtbot: Any, op: Any) -> Any:
    got: list[object] = []
    errors: list[BaseException] = []
    op.success(got.append).failure(errors.append).run()
    qtbot.waitUntil(lambda: bool(got or errors), timeout=10_000)
    if errors:
        raise errors[0]
    return got[0]


def test_a_lost_revoke_answer_leaves_the_code_list_as_the_portal_holds_it(
    qtbot: Any,
    practice: PortalPractice,
    portal_server: RunningPortal,
    fault_proxy: Callable[[RunningPortal], FaultProxy],
    workstations: Callable[..., Workstation],
) -> None:
    proxy = fault_proxy(portal_server)
    desk = workstations(
        practice, client=staff_client(practice, base_url=proxy.base_url), start=False
    )
    staff = desk.client.staff
    assert staff is not None
    runner = TaskRunner()
    try:
        ops = CodeOps(runner, desk.store, desk.engine, client=desk.client, staff_name=staff.name)
        request = SecurityCodeCreate(patient_id=practice.patient_ids[3], purpose="register")
        issued = _result(qtbot, ops.issue(request, str(uuid.uuid4())))
        code_id = issued.security_code.id
        key = str(uuid.uuid4())
        proxy.add(Fault("drop", "POST", r"/revoke$"))
        with pytest.raises(PortalError):
            _result(qtbot, ops.revoke(code_id, key))
        # Nothing was assumed: the list still says what the desk last heard from the portal ...
        assert _codes(desk)[0].status == "active"
        # ... and the feed brings what the portal did.
        desk.engine.pull_once()
        assert _codes(desk)[0].status == "revoked"
        # The user tries again: the same key gets the portal's first answer; nothing twice.
        assert _result(qtbot, ops.revoke(code_id, key)).status == "revoked"
    finally:
        runner.shutdown(wait=True)
    desk.engine.pull_once()
    [row] = _codes(desk)
    items = feed_for(desk.client, "security_code", code_id)
    assert row.status == items[-1].data["status"] == "revoked"
    assert [i.data["status"] for i in items].count("revoked") == 1
