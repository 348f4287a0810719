"""The portal's CA and server certificate, and that only HTTPS is served."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509

from tests.fixtures_portal import http_session
from visitdesk.portal.web.server import RunningPortal
from visitdesk.portal.web.tls import ensure_tls


def _sans(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in names]


def test_first_start_creates_ca_and_server_cert_with_private_keys_0600(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls", "portal.clinic.test")
    for name in ("ca.pem", "server.pem", "server-key.pem", "ca-key.pem"):
        assert (tmp_path / "tls" / name).exists()
    assert stat.S_IMODE(files.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls" / "ca-key.pem").stat().st_mode) == 0o600
    assert set(_sans(files.cert_file)) >= {"portal.clinic.test", "127.0.0.1", "localhost", "::1"}
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    cert.verify_directly_issued_by(ca)


def test_later_starts_reuse_files_and_reissue_for_a_new_host(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path, "127.0.0.1")
    ca_bytes, cert_bytes = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    again = ensure_tls(tmp_path, "127.0.0.1")
    assert again.cert_file.read_bytes() == cert_bytes
    assert again.ca_file.read_bytes() == ca_bytes

    other = ensure_tls(tmp_path, "desk-server.local")
    assert other.ca_file.read_bytes() == ca_bytes  # same CA: clients keep trusting it
    assert other.cert_file.read_bytes() != cert_bytes
    assert "desk-server.local" in _sans(other.cert_file)


def test_an_expiring_server_certificate_is_reissued(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path, "127.0.0.1")
    original = files.cert_file.read_bytes()
    # Replace the certificate with one that expires tomorrow, signed by the same CA.
    from cryptography.hazmat.primitives import hashes, serialization

    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    ca_key = serialization.load_pem_private_key((tmp_path / "ca-key.pem").read_bytes(), None)
    old = x509.load_pem_x509_certificate(original)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(ca.subject)
        .public_key(old.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
    )
    for ext in old.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    expiring = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    files.cert_file.write_bytes(expiring.public_bytes(serialization.Encoding.PEM))

    renewed = ensure_tls(tmp_path, "127.0.0.1")
    cert = x509.load_pem_x509_certificate(renewed.cert_file.read_bytes())
    assert cert.not_valid_after_utc > now + timedelta(days=300)


def test_client_without_the_ca_refuses_the_certificate(portal_server: RunningPortal) -> None:
    with requests.Session() as session:
        session.trust_env = False
        with pytest.raises(requests.exceptions.SSLError):
            session.get(f"{portal_server.base_url}/openapi.json", timeout=10)


def test_client_trusting_the_ca_connects(portal_server: RunningPortal) -> None:
    with http_session(portal_server.ca_file) as session:
        response = session.get(f"{portal_server.base_url}/openapi.json", timeout=10)
    assert response.status_code == 200


def test_plain_http_is_not_served(portal_server: RunningPortal) -> None:
    with requests.Session() as session:
        session.trust_env = False
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"http://127.0.0.1:{portal_server.port}/openapi.json", timeout=10)
