"""PortalClient against the real portal over loopback TLS."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import date, timedelta
from pathlib import Path

import certifi
import pytest
import requests

from tests.fixtures_keyring import MemoryKeyring
from tests.fixtures_portal import PortalFactory, PortalPractice, http_session, make_practice
from tests.portal.helpers import idem, staff_headers
from tests.sync.fakes import wait_for
from tests.sync.portal_helpers import patient_checkin, staff_client
from visitdesk.api.commands import SET_CHECKIN_STATUS
from visitdesk.api.wire import CheckInStatus, CheckInStatusUpdate, PatientRecord, Role
from visitdesk.portal.persistence.db import Database
from visitdesk.sync.client import PortalClient, _raise_for_status
from visitdesk.sync.credentials import SERVICE, MemoryTokenStore, open_token_store
from visitdesk.sync.errors import (
    AuthExpired,
    Forbidden,
    NotFound,
    PortalOffline,
    PortalOutdated,
    PortalUntrusted,
    Rejected,
    SignInFailed,
)


def _client(practice: PortalPractice, **kwargs: object) -> PortalClient:
    return PortalClient(
        practice.base_url,
        ca_file=kwargs.pop("ca_file", practice.ca_file),  # type: ignore[arg-type]
        token_store=kwargs.pop("token_store", MemoryTokenStore()),  # type: ignore[arg-type]
        timeout=(2.0, 10.0),
    )


# Stopping a portal while a client holds an idle keep-alive TLS connection waits out uvicorn's
# graceful-shutdown timeout and leaks the transport (a ResourceWarning, an error under our
# filterwarnings), so tests close the client's idle connections before stopping a portal.


def _sign_in(client: PortalClient, practice: PortalPractice, role: str = "front_desk") -> None:
    cred = practice.staff[role]
    client.sign_in(practice.practice_code, cred.username, cred.password)


# ---------------------------------------------------------------------------- TLS trust


def test_without_the_ca_file_the_portal_is_not_trusted(practice: PortalPractice) -> None:
    client = _client(practice, ca_file=None)
    with pytest.raises(PortalUntrusted) as caught:
        _sign_in(client, practice)
    assert "certificate is not trusted" in caught.value.user_message
    assert "CA file" in caught.value.user_message
    assert not client.signed_in


def test_with_the_ca_file_sign_in_works(practice: PortalPractice) -> None:
    client = _client(practice)
    _sign_in(client, practice)
    assert client.signed_in
    assert client.staff is not None and client.staff.role is Role.FRONT_DESK
    assert client.practice is not None and client.practice.code == practice.practice_code


def test_ca_bundle_environment_does_not_change_verification(
    practice: PortalPractice, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Pointing the env at the portal's CA must not make an unconfigured client trust it ...
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(practice.ca_file))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(practice.ca_file))
    with pytest.raises(PortalUntrusted):
        _sign_in(_client(practice, ca_file=None), practice)
    # ... and pointing it elsewhere (or at a dead proxy) must not break a configured one.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = _client(practice)
    _sign_in(client, practice)
    assert client.get_changes(0, 10, 0).last_seq > 0


def test_a_different_ca_is_not_trusted(practice: PortalPractice) -> None:
    client = _client(practice, ca_file=Path(certifi.where()))
    with pytest.raises(PortalUntrusted):
        _sign_in(client, practice)


def test_unreachable_portal_is_offline(practice: PortalPractice) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = PortalClient(
        f"https://127.0.0.1:{port}", ca_file=practice.ca_file, token_store=MemoryTokenStore()
    )
    with pytest.raises(PortalOffline):
        _sign_in(client, practice)


# ---------------------------------------------------------------------------- sessions


def test_wrong_password_is_refused_in_plain_words(practice: PortalPractice) -> None:
    client = _client(practice)
    cred = practice.staff["front_desk"]
    with pytest.raises(SignInFailed) as caught:
        client.sign_in(practice.practice_code, cred.username, cred.password + "x")
    assert isinstance(caught.value, Rejected) and caught.value.status == 401
    assert "password" in caught.value.user_message
    assert not client.signed_in


def test_refresh_rotates_and_the_old_token_is_dead(practice: PortalPractice) -> None:
    store = MemoryTokenStore()
    client = _client(practice, token_store=store)
    _sign_in(client, practice)
    first = store.get()
    assert first
    tokens = client.refresh()
    assert tokens.refresh_token != first
    assert store.get() == tokens.refresh_token  # the new token is stored at once
    assert client.get_changes(0, 1, 0).items
    client.refresh()  # the rotated token is used too: the answer to the first rotation arrived

    # The old refresh token no longer works; presenting it counts as theft and ends the session.
    with http_session(practice.ca_file) as http:
        resp = http.post(
            f"{practice.staff_url}/sessions/refresh", json={"refresh_token": first}, timeout=10
        )
    assert resp.status_code == 401
    with pytest.raises(AuthExpired):
        client.refresh()
    assert store.get() is None
    assert not client.signed_in


def test_refused_access_token_is_refreshed_and_the_call_retried(practice: PortalPractice) -> None:
    store = MemoryTokenStore()
    client = _client(practice, token_store=store)
    _sign_in(client, practice)
    before = store.get()
    client._access_token = "not-a-valid-token"  # what an expired token looks like to the portal
    page = client.get_changes(0, 5, 0)
    assert page.items
    assert store.get() != before
    assert client._access_token != "not-a-valid-token"


def test_access_token_expiring_on_the_portal_is_refreshed(
    portal_factory: PortalFactory,
) -> None:
    portal = portal_factory.start(access_token_ttl=timedelta(seconds=1))
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=3, accounts=1)
    finally:
        db.dispose()
    store = MemoryTokenStore()
    client = _client(practice, token_store=store)
    _sign_in(client, practice)
    old_access = client._access_token
    old_refresh = store.get()

    def portal_refuses_old_token() -> bool:
        with http_session(practice.ca_file) as http:
            resp = http.get(
                f"{practice.staff_url}/changes",
                headers={"Authorization": f"Bearer {old_access}"},
                timeout=10,
            )
        return resp.status_code == 401

    assert wait_for(portal_refuses_old_token, timeout=5, interval=0.1)
    assert client.get_changes(0, 5, 0).items
    assert client._access_token != old_access
    assert store.get() not in (None, old_refresh)


def test_concurrent_calls_share_one_refresh(practice: PortalPractice) -> None:
    # With rotation and reuse detection, two threads refreshing with the same token would end the
    # session; the client must refresh once and let the others use the result.
    client = _client(practice)
    _sign_in(client, practice)
    client._access_token = "expired"
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            client.get_changes(0, 1, 0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert client.get_changes(0, 1, 0).items


def test_resume_uses_the_stored_refresh_token(practice: PortalPractice) -> None:
    store = MemoryTokenStore()
    _sign_in(_client(practice, token_store=store), practice)
    stored = store.get()

    later = _client(practice, token_store=store)  # the app started again
    tokens = later.resume()
    assert tokens is not None
    assert later.staff is not None and later.staff.role is Role.FRONT_DESK
    assert store.get() == tokens.refresh_token != stored
    assert later.get_changes(0, 1, 0).items

    assert _client(practice).resume() is None  # nothing stored
    bogus = MemoryTokenStore("not-a-token")
    assert _client(practice, token_store=bogus).resume() is None
    assert bogus.get() is None


def test_resume_while_offline_keeps_the_token(portal_factory: PortalFactory) -> None:
    portal = portal_factory.start()
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=3, accounts=1)
    finally:
        db.dispose()
    store = MemoryTokenStore()
    first = _client(practice, token_store=store)
    _sign_in(first, practice)
    stored = store.get()
    first.close()  # see _stop_portal
    portal.stop()
    later = _client(practice, token_store=store)
    with pytest.raises(PortalOffline):
        later.resume()
    assert store.get() == stored
    assert later.signed_in


def test_sign_out_ends_the_session(practice: PortalPractice) -> None:
    store = MemoryTokenStore()
    client = _client(practice, token_store=store)
    _sign_in(client, practice)
    refresh_token = store.get()
    client.sign_out()
    assert store.get() is None
    assert not client.signed_in and client.staff is None
    with http_session(practice.ca_file) as http:
        resp = http.post(
            f"{practice.staff_url}/sessions/refresh",
            json={"refresh_token": refresh_token},
            timeout=10,
        )
    assert resp.status_code == 401
    with pytest.raises(AuthExpired):
        client.get_changes(0, 1, 0)


def test_sign_out_offline_still_forgets_the_tokens(portal_factory: PortalFactory) -> None:
    portal = portal_factory.start()
    db = Database.from_url(portal.config.resolved_database_url)
    try:
        practice = make_practice(db, portal, patients=3, accounts=1)
    finally:
        db.dispose()
    store = MemoryTokenStore()
    client = _client(practice, token_store=store)
    _sign_in(client, practice)
    client.close()  # see _stop_portal
    portal.stop()
    client.sign_out()  # no exception
    assert store.get() is None and not client.signed_in


# ---------------------------------------------------------------------------- credentials


def test_refresh_token_lives_in_the_keyring_not_on_disk(
    practice: PortalPractice, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    from visitdesk.desktop.models.store import LocalStore
    from visitdesk.sync.engine import SyncEngine

    account = f"{practice.base_url}/{practice.practice_code}/front_desk"
    token_store, warning = open_token_store(account)
    assert warning is None
    client = _client(practice, token_store=token_store)
    _sign_in(client, practice)
    refresh_token = token_store.get()
    assert refresh_token
    assert memory_keyring.secrets == {(SERVICE, account): refresh_token}

    data_dir = tmp_path / "data"
    with LocalStore.open(data_dir / "visitdesk.sqlite3") as store:
        SyncEngine(client, store).pull_once()
        assert store.patient_count() == 50
    secrets = [refresh_token, client._access_token]
    cred = practice.staff["front_desk"]
    for path in data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret in [*secrets, cred.password]:
                assert secret is not None
                assert secret.encode() not in content, f"secret found in {path.name}"


def test_without_keyring_the_session_lives_in_memory(
    practice: PortalPractice, no_keyring: object
) -> None:
    token_store, warning = open_token_store("x")
    assert isinstance(token_store, MemoryTokenStore)
    assert warning is not None and "sign in again" in warning
    client = _client(practice, token_store=token_store)
    _sign_in(client, practice)
    assert client.get_changes(0, 1, 0).items


def test_logs_carry_no_tokens_or_passwords(
    practice: PortalPractice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryTokenStore()
    client = _client(practice, token_store=store)
    _sign_in(client, practice)
    first = store.get()
    client._access_token = "expired-access-token"
    client.get_changes(0, 10, 0)
    client.refresh()
    text = caplog.text
    cred = practice.staff["front_desk"]
    for secret in (first, store.get(), client._access_token, cred.password):
        assert secret and secret not in text


# ---------------------------------------------------------------------------- commands


def _patient(mrn: str) -> PatientRecord:
    return PatientRecord(
        mrn=mrn, first_name="Ada", last_name="Testcase", date_of_birth=date(1990, 5, 17)
    )


def test_upsert_patients_is_idempotent_per_key(practice: PortalPractice) -> None:
    client = staff_client(practice, "manager")
    key = str(uuid.uuid4())
    first = client.upsert_patients([_patient("NEW-1"), _patient("NEW-2")], key)
    assert (first.created, first.updated) == (2, 0)
    replay = client.upsert_patients([_patient("NEW-1"), _patient("NEW-2")], key)
    assert replay == first  # replayed, not applied again
    again = client.upsert_patients([_patient("NEW-1"), _patient("NEW-2")], str(uuid.uuid4()))
    assert (again.created, again.unchanged) == (0, 2)


def test_a_route_the_portal_lacks_is_told_apart_from_a_record_it_lacks(
    portal_http: requests.Session, practice: PortalPractice
) -> None:
    # What a newer desk meets at an older portal: the framework's answer for an unknown path or
    # method, which none of the portal's own refusals repeats.
    headers = {**staff_headers(portal_http, practice, "billing"), **idem()}
    unknown_path = portal_http.put(
        f"{practice.staff_url}/ledger/of-a-later-version", json={}, headers=headers, timeout=15
    )
    unknown_method = portal_http.delete(f"{practice.staff_url}/ledger", headers=headers, timeout=15)
    for answer in (unknown_path, unknown_method):
        with pytest.raises(PortalOutdated):
            _raise_for_status(answer)
    desk = staff_client(practice, "front_desk")
    with pytest.raises(NotFound) as missing:
        desk.set_checkin_status("no-such-checkin", "roomed", str(uuid.uuid4()))
    assert missing.value.user_message == "No such check-in."
    desk.close()


def test_checkin_status_and_errors(practice: PortalPractice) -> None:
    checkin = patient_checkin(practice)
    desk = staff_client(practice, "front_desk")
    out = desk.set_checkin_status(checkin["id"], CheckInStatus.ACKNOWLEDGED, str(uuid.uuid4()))
    assert out.status is CheckInStatus.ACKNOWLEDGED
    assert out.status_changed_by == desk.staff.name  # type: ignore[union-attr]

    with pytest.raises(NotFound):
        desk.set_checkin_status("no-such-checkin", "roomed", str(uuid.uuid4()))
    with pytest.raises(Forbidden) as forbidden:
        staff_client(practice, "billing").set_checkin_status(
            checkin["id"], "roomed", str(uuid.uuid4())
        )
    assert forbidden.value.user_message
    # The portal answers a change without a key 400 (tests/portal/test_idempotency.py); the client
    # refuses to make one in the first place.
    with pytest.raises(ValueError, match="idempotency key"):
        desk.call(
            SET_CHECKIN_STATUS,
            {"checkin_id": checkin["id"]},
            CheckInStatusUpdate(status=CheckInStatus.ROOMED),  # type: ignore[arg-type]
        )


def test_send_replays_under_the_same_key(practice: PortalPractice) -> None:
    checkin = patient_checkin(practice)
    desk = staff_client(practice)
    params = {"checkin_id": checkin["id"]}
    key = str(uuid.uuid4())
    first = desk.send("set_checkin_status", params, {"status": "acknowledged"}, key)
    second = desk.send("set_checkin_status", params, {"status": "acknowledged"}, key)
    assert first == second
    assert first["status"] == "acknowledged"


def test_send_refuses_unknown_commands_reads_and_bad_ids(practice: PortalPractice) -> None:
    client = _client(practice)
    with pytest.raises(ValueError, match="unknown staff command"):
        client.send("delete_practice", {}, None, "k")
    with pytest.raises(ValueError, match="outbox may send"):
        client.send("list_security_codes", {}, None, "k")
    for bad in ("", "../sessions", "a/b", "x?status=used", "a b", "%2e%2e"):
        with pytest.raises(ValueError, match="Not a valid record id"):
            client.send("set_checkin_status", {"checkin_id": bad}, {"status": "roomed"}, "k")
    with pytest.raises(ValueError, match="path parameters"):
        client.send("set_checkin_status", {}, {"status": "roomed"}, "k")


def test_http_session_is_isolated_from_env(practice: PortalPractice) -> None:
    client = _client(practice)
    session = client._session()
    assert isinstance(session, requests.Session)
    assert session.trust_env is False
    assert session.verify == str(practice.ca_file)


def test_the_outbox_depth_goes_to_the_portals_metrics(practice: PortalPractice) -> None:
    client = _client(practice)
    _sign_in(client, practice)
    client.outbox_depth = lambda: 23
    client.get_changes(after=0, limit=1, wait=0)
    with http_session(practice.ca_file) as http:
        metrics = http.get(f"{practice.base_url}/metrics", timeout=10).text
    assert f'visitdesk_desk_outbox_depth{{practice="{practice.practice_id}"}} 23.0' in metrics
