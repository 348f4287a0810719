"""Deployment defaults: private files, response headers, and the TLS 1.2 cipher floor."""

from __future__ import annotations

import socket
import ssl
import stat
import sys
from pathlib import Path

import pytest
import requests

from tests.fixtures_portal import PortalFactory, PortalPractice
from visitdesk.portal.web.config import DATABASE_FILE
from visitdesk.portal.web.server import RunningPortal


def test_data_dir_and_database_are_owner_only(
    portal_factory: PortalFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "fresh-portal"
    portal_factory.start(data_dir=data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / DATABASE_FILE).stat().st_mode) == 0o600


def test_every_answer_carries_the_security_headers(
    practice: PortalPractice, portal_http: requests.Session
) -> None:
    answers = [
        portal_http.get(f"{practice.patient_url}/patients", timeout=10),  # 401
        portal_http.post(f"{practice.patient_url}/sessions", json={}, timeout=10),  # 422
        portal_http.get(f"{practice.patient_url}/security-questions", timeout=10),  # 200
    ]
    assert [a.status_code for a in answers] == [401, 422, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def _handshake(portal: RunningPortal, context: ssl.SSLContext) -> str:
    context.load_verify_locations(str(portal.ca_file))
    with (
        socket.create_connection(("127.0.0.1", portal.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return tls.version() or ""


def _tls12(ciphers: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ciphers)
    return context


def test_tls12_offers_only_aead_suites(portal_server: RunningPortal) -> None:
    assert _handshake(portal_server, _tls12("ECDHE+AESGCM")) == "TLSv1.2"
    with pytest.raises(ssl.SSLError):
        _handshake(
            portal_server, _tls12("ECDHE+AES+SHA1:ECDHE+AES+SHA256:ECDHE+AES+SHA384:-AESGCM")
        )
    modern = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert _handshake(portal_server, modern) == "TLSv1.3"


def test_the_thread_switch_interval_is_a_setting(portal_factory: PortalFactory) -> None:
    before = sys.getswitchinterval()
    try:
        portal_factory.start(switch_interval_ms=0.5)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(before)
