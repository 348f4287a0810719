"""Mapping of HTTP answers and transport failures to typed portal errors; backoff math."""

from __future__ import annotations

import json
import random
import ssl
from pathlib import Path

import pytest
import requests
import urllib3.exceptions

from visitdesk.sync import client as client_mod
from visitdesk.sync.client import PortalClient, _detail, _is_cert_failure, _raise_for_status
from visitdesk.sync.credentials import MemoryTokenStore
from visitdesk.sync.engine import backoff_delay
from visitdesk.sync.errors import (
    AuthExpired,
    Forbidden,
    NotFound,
    PortalError,
    PortalOffline,
    PortalOutdated,
    PortalUntrusted,
    RateLimited,
    Rejected,
    ServerError,
    is_transient,
    may_succeed_again,
)


def _response(status: int, body: object = None, headers: dict[str, str] | None = None):
    resp = requests.Response()
    resp.status_code = status
    resp._content = b"" if body is None else json.dumps(body).encode()
    resp.headers.update(headers or {})
    return resp


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthExpired),
        (403, Forbidden),
        (404, NotFound),
        (409, Rejected),
        (422, Rejected),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_status_maps_to_error(status: int, error: type[PortalError]) -> None:
    with pytest.raises(error) as caught:
        _raise_for_status(_response(status, {"detail": "Nope."}))
    assert caught.value.user_message


@pytest.mark.parametrize("status", [200, 201, 204])
def test_success_statuses_do_not_raise(status: int) -> None:
    _raise_for_status(_response(status, {}))


def test_rejected_carries_status_and_portal_detail() -> None:
    with pytest.raises(Rejected) as caught:
        _raise_for_status(_response(409, {"detail": "This check-in was cancelled."}))
    assert caught.value.status == 409
    assert caught.value.message == "This check-in was cancelled."
    assert "This check-in was cancelled." in caught.value.user_message


def test_forbidden_and_not_found_use_portal_detail_or_default() -> None:
    with pytest.raises(Forbidden) as forbidden:
        _raise_for_status(_response(403, {"detail": "Billing staff cannot do this."}))
    assert forbidden.value.user_message == "Billing staff cannot do this."
    with pytest.raises(NotFound) as missing:
        _raise_for_status(_response(404))
    assert missing.value.user_message == NotFound.user_message


@pytest.mark.parametrize(("status", "detail"), [(404, "Not Found"), (405, "Method Not Allowed")])
def test_a_request_the_portal_has_no_route_for_means_the_portal_is_older(
    status: int, detail: str
) -> None:
    # The framework's own answer for an unknown path or method: a newer desk reached an older
    # portal. Unlike a record the portal could not find, the change may go through after it is
    # upgraded, so the outbox keeps it to send again.
    with pytest.raises(PortalOutdated) as outdated:
        _raise_for_status(_response(status, {"detail": detail}))
    assert "older version" in outdated.value.user_message
    assert may_succeed_again(outdated.value) and not is_transient(outdated.value)
    with pytest.raises(NotFound) as missing:
        _raise_for_status(_response(404, {"detail": "No such patient in this practice."}))
    assert not may_succeed_again(missing.value)
    with pytest.raises(Rejected):
        _raise_for_status(_response(405, {"detail": "Nope."}))
    # Only the framework's exact words count: look-alikes (a bidi override, a control character,
    # padding, a megabyte of text, a detail that is not text) stay what their status says.
    for odd in (
        "Not Found\u202e",
        "Not\x00Found",
        " Not Found",
        "Not Found" * 120_000,
        ["Not Found"],
    ):
        with pytest.raises(NotFound):
            _raise_for_status(_response(404, {"detail": odd}))


def test_validation_detail_keeps_field_and_message_but_not_the_input() -> None:
    body = {
        "detail": [
            {
                "type": "string_too_long",
                "loc": ["body", "patients", 0, "last_name"],
                "msg": "String should have at most 100 characters",
                "input": "Smithsonian-PHI-VALUE",
            }
        ]
    }
    text = _detail(_response(422, body))
    assert text == "patients.0.last_name: String should have at most 100 characters"
    assert "PHI-VALUE" not in text


def test_detail_tolerates_non_json() -> None:
    resp = _response(500)
    resp._content = b"<html>Bad gateway</html>"
    assert _detail(resp) == ""


def test_rate_limited_reads_retry_after() -> None:
    with pytest.raises(RateLimited) as caught:
        _raise_for_status(_response(429, {"detail": "Slow down"}, {"Retry-After": "7"}))
    assert caught.value.retry_after == 7.0
    with pytest.raises(RateLimited) as undated:
        _raise_for_status(_response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert undated.value.retry_after is None


@pytest.mark.parametrize(
    ("err", "transient"),
    [
        (PortalOffline(), True),
        (ServerError(503), True),
        (RateLimited(3), True),
        (PortalUntrusted(), False),
        (AuthExpired(), False),
        (Forbidden(), False),
        (NotFound(), False),
        (Rejected(400, "bad"), False),
        (ValueError("not ours"), False),
    ],
)
def test_is_transient(err: BaseException, transient: bool) -> None:
    assert is_transient(err) is transient


def test_certificate_failure_is_recognised_through_wrapping() -> None:
    verify = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
    wrapped = requests.exceptions.SSLError(
        urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.SSLError(verify))  # type: ignore[arg-type]
    )
    assert _is_cert_failure(wrapped)
    eof = requests.exceptions.SSLError(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    assert not _is_cert_failure(eof)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8443", "ftp://portal.example", "portal.example", "https://"]
)
def test_client_refuses_non_https_urls(url: str) -> None:
    with pytest.raises(ValueError, match="https://"):
        PortalClient(url, ca_file=None, token_store=MemoryTokenStore())


def test_client_without_ca_file_uses_the_certifi_store() -> None:
    import certifi

    client = PortalClient("https://portal.example", ca_file=None, token_store=MemoryTokenStore())
    assert client._verify == certifi.where()
    client = PortalClient(
        "https://portal.example", ca_file=Path("/x/ca.pem"), token_store=MemoryTokenStore()
    )
    assert client._verify == "/x/ca.pem"
    assert client._session().trust_env is False
    assert client._session().verify == "/x/ca.pem"


def test_connection_refused_is_offline() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    client = PortalClient(
        f"https://127.0.0.1:{port}",
        ca_file=None,
        token_store=MemoryTokenStore("refresh"),
        timeout=(1.0, 1.0),
    )
    with pytest.raises(PortalOffline):
        client.refresh()
    assert client_mod.LONG_POLL_MARGIN > 0


def test_backoff_is_full_jitter_under_a_capped_exponential() -> None:
    rng = random.Random(1234)
    for attempt in range(12):
        ceiling = min(8.0, 0.5 * 2**attempt)
        delays = [backoff_delay(attempt, base=0.5, cap=8.0, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads across the whole range rather than clustering at the ceiling.
        assert min(delays) < ceiling * 0.1
        assert max(delays) > ceiling * 0.9


def test_backoff_is_deterministic_with_a_seeded_rng() -> None:
    first = [backoff_delay(n, base=1, cap=60, rng=random.Random(7)) for n in range(5)]
    again = [backoff_delay(n, base=1, cap=60, rng=random.Random(7)) for n in range(5)]
    assert first == again


def test_backoff_survives_huge_attempt_numbers() -> None:
    assert 0 <= backoff_delay(10_000, base=0.5, cap=60, rng=random.Random(0)) <= 60
