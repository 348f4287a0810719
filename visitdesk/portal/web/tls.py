"""The portal's own certificate authority and server certificate.

On first start the portal makes a CA and a server certificate signed by it; clients trust exactly
that CA file. Later starts reuse them, reissuing the server certificate when it nears expiry, does
not cover the host, or was signed by a different CA.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from visitdesk.api.files import write_whole

log = logging.getLogger(__name__)

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server-key.pem"

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=397)
#: Reissue certificates that expire sooner than this.
RENEW_BEFORE = timedelta(days=30)

_UNSPECIFIED_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104  (names, not a bind)


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def ensure_tls(tls_dir: Path, host: str) -> TlsFiles:
    """Create or reuse the CA and a server certificate valid for ``host``."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(tls_dir, 0o700)
    ca_path, ca_key_path = tls_dir / CA_FILE, tls_dir / CA_KEY_FILE
    cert_path, key_path = tls_dir / SERVER_CERT_FILE, tls_dir / SERVER_KEY_FILE

    ca_cert, ca_key = _load_ca(ca_path, ca_key_path)
    if ca_cert is None or ca_key is None:
        log.info("creating a new portal certificate authority in %s", tls_dir)
        ca_cert, ca_key = _make_ca()
        _write_private(ca_key_path, _key_pem(ca_key))
        _write_public(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))

    wanted = _wanted_names(host)
    if not _server_cert_ok(cert_path, key_path, ca_cert, wanted):
        log.info("issuing a new server certificate in %s", tls_dir)
        cert, key = _make_server_cert(ca_cert, ca_key, wanted)
        _write_private(key_path, _key_pem(key))
        _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(ca_file=ca_path, cert_file=cert_path, key_file=key_path)


# --------------------------------------------------------------------------- names


def _wanted_names(host: str) -> list[x509.GeneralName]:
    names: list[str] = [host, "127.0.0.1", "localhost", "::1"]
    if host in _UNSPECIFIED_HOSTS:
        names = ["127.0.0.1", "localhost", "::1", socket.gethostname(), socket.getfqdn()]
    result: list[x509.GeneralName] = []
    for name in names:
        entry = _general_name(name)
        if entry is not None and entry not in result:
            result.append(entry)
    return result


def _general_name(name: str) -> x509.GeneralName | None:
    name = name.strip().strip("[]")
    if not name or name in _UNSPECIFIED_HOSTS:
        return None
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name.lower())


# --------------------------------------------------------------------------- loading and checks


def _load_ca(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate | None, ec.EllipticCurvePrivateKey | None]:
    if not (cert_path.exists() and key_path.exists()):
        return None, None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError:
        log.warning("the stored CA could not be read; making a new one")
        return None, None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None, None
    if cert.not_valid_after_utc - datetime.now(UTC) < RENEW_BEFORE:
        return None, None
    return cert, key


def _server_cert_ok(
    cert_path: Path, key_path: Path, ca_cert: x509.Certificate, wanted: list[x509.GeneralName]
) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca_cert)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    if key.public_key() != cert.public_key():
        return False
    if cert.not_valid_after_utc - datetime.now(UTC) < RENEW_BEFORE:
        return False
    present = set(sans)
    return all(name in present for name in wanted)


# --------------------------------------------------------------------------- making


def _make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "VisitDesk Portal"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"VisitDesk Portal Local CA {secrets.token_hex(4)}"
            ),
        ]
    )
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_server_cert(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: list[x509.GeneralName],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    first = names[0]
    common_name = str(first.value)
    now = datetime.now(UTC)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "VisitDesk Portal"),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


# --------------------------------------------------------------------------- files


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    write_whole(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    write_whole(path, data, 0o644)
