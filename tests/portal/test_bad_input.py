"""Bad input gets a 4xx that names the problem, never a 500 and never an echo of what was sent."""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import pytest
import requests

from tests.fixtures_portal import PortalPractice, http_session
from tests.portal.helpers import idem, patient_headers, staff_headers
from visitdesk.api.wire import FEED_LEVEL, FEED_LEVEL_HEADER, AppointmentUpsert, PatientUpsert
from visitdesk.api.wire_billing import LedgerColumns, LedgerUpsert
from visitdesk.portal.web import routes
from visitdesk.portal.web.bodies import (
    AUTH_BODY_LIMIT,
    DEFAULT_BODY_LIMIT,
    PortalRoute,
    strict_json,
    validated_bulk,
)
from visitdesk.portal.web.server import RunningPortal


@pytest.fixture
def http(practice: PortalPractice) -> requests.Session:
    return http_session(practice.ca_file)


def _raw(http: requests.Session, method: str, url: str, text: str, **kwargs: Any):
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return http.request(
        method, url, data=text.encode("utf-8", "surrogatepass"), headers=headers, timeout=10
    )


def _assert_plain_422(response: requests.Response, *secrets: str) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    for secret in secrets:
        assert secret not in response.text
    return body["detail"]


def _payment(practice: PortalPractice, amount: str) -> str:
    patient_id = practice.patients[0].patient_ids[0]
    return f'{{"patient_id": "{patient_id}", "amount_cents": {amount}, "card_token": "tok_visa"}}'


@pytest.mark.parametrize("amount", ["true", "12.0", '"12"', "NaN", "Infinity", "-Infinity"])
def test_amounts_are_strict_integers(
    practice: PortalPractice, http: requests.Session, amount: str
) -> None:
    headers = {**patient_headers(http, practice), **idem()}
    response = _raw(
        http,
        "POST",
        f"{practice.patient_url}/payments",
        _payment(practice, amount),
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], str)


def test_non_finite_numbers_are_refused_on_any_route(
    practice: PortalPractice, http: requests.Session
) -> None:
    response = _raw(
        http, "POST", f"{practice.patient_url}/sessions", '{"login": NaN, "password": "x"}'
    )
    assert "NaN is not a JSON number" in _assert_plain_422(response)


@pytest.mark.parametrize("text", ["\ud800", "Ann\udfff", "a\u0000b"])
def test_unstorable_text_is_refused_with_422(
    practice: PortalPractice, http: requests.Session, text: str
) -> None:
    escaped = json.dumps(text)  # \\ud800 escapes: what a client's JSON encoder sends
    sign_in = _raw(
        http,
        "POST",
        f"{practice.patient_url}/sessions",
        f'{{"login": {escaped}, "password": "secret-pw"}}',
    )
    _assert_plain_422(sign_in, "secret-pw")
    headers = {**staff_headers(http, practice), **idem()}
    record = {"mrn": "SUR-1", "first_name": "x", "last_name": "Doe", "date_of_birth": "1980-01-01"}
    body = json.dumps({"patients": [record]}).replace('"x"', escaped)
    upsert = _raw(http, "PUT", f"{practice.staff_url}/patients", body, headers=headers)
    _assert_plain_422(upsert)
    # Raw (not escaped) surrogate bytes are not UTF-8 at all.
    raw = _raw(
        http, "POST", f"{practice.patient_url}/sessions", '{"login": "\udc80", "password": "p"}'
    )
    _assert_plain_422(raw)


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:30:00+05:00", "9999-12-31T23:30:00-05:00"])
def test_datetimes_outside_the_utc_range_are_422(
    practice: PortalPractice, http: requests.Session, starts_at: str
) -> None:
    body = {
        "appointments": [
            {"external_id": "A-far", "mrn": "X1", "starts_at": starts_at, "provider": "Dr. Who"}
        ]
    }
    headers = {**staff_headers(http, practice), **idem()}
    response = http.put(
        f"{practice.staff_url}/appointments", json=body, headers=headers, timeout=10
    )
    assert "out of range" in _assert_plain_422(response)


@pytest.mark.parametrize("after", [str(2**63), str(2**64 + 5), "-1", "1e3"])
def test_change_feed_position_beyond_64_bits_is_422(
    practice: PortalPractice, http: requests.Session, after: str
) -> None:
    response = http.get(
        f"{practice.staff_url}/changes",
        params={"after": after},
        headers=staff_headers(http, practice),
        timeout=10,
    )
    _assert_plain_422(response)


def test_validation_errors_name_the_field_but_never_echo_the_input(
    practice: PortalPractice, http: requests.Session
) -> None:
    response = http.post(
        f"{practice.patient_url}/sessions", json={"password": "Tr0ub4dor&3-secret"}, timeout=10
    )
    detail = _assert_plain_422(response, "Tr0ub4dor&3-secret")
    assert "body.login" in detail
    code = http.post(
        f"{practice.patient_url}/accounts/username",
        json={"security_code": "ABCD-EFGH-JKLM-NPQR", "first_name": 7},
        timeout=10,
    )
    _assert_plain_422(code, "ABCD-EFGH-JKLM-NPQR")


def test_request_bodies_are_limited_per_route(
    practice: PortalPractice, http: requests.Session
) -> None:
    padding = "x" * AUTH_BODY_LIMIT
    big_sign_in = http.post(
        f"{practice.patient_url}/sessions", json={"login": padding, "password": "p"}, timeout=10
    )
    assert big_sign_in.status_code == 413
    assert padding not in big_sign_in.text

    headers = {**patient_headers(http, practice), **idem()}
    big_check_in = http.post(
        f"{practice.patient_url}/checkins",
        json={"patient_id": "p" * DEFAULT_BODY_LIMIT},
        headers=headers,
        timeout=10,
    )
    assert big_check_in.status_code == 413
    # The desk's bulk upsert of 5,000 records (about 1 MB) is within its own, larger limit.
    records = [
        {
            "mrn": f"BULK-{n}",
            "first_name": "Pat",
            "last_name": f"Bulk{n}",
            "date_of_birth": "1980-01-01",
            "address_line1": "12 Long Street Name Apartment 4B",
        }
        for n in range(5000)
    ]
    headers = {**staff_headers(http, practice), **idem()}
    bulk = http.put(
        f"{practice.staff_url}/patients", json={"patients": records}, headers=headers, timeout=60
    )
    assert bulk.status_code == 200, bulk.text[:200]


def test_schema_documents_422_as_the_error_body_returned(
    portal_server: RunningPortal, portal_http: requests.Session
) -> None:
    schema = portal_http.get(f"{portal_server.base_url}/openapi.json", timeout=10).json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            unprocessable = operation["responses"].get("422")
            if unprocessable is not None:
                ref = unprocessable["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a\\u0000": 1}',
        b'{"k": ["ok", {"deep": "\\udfff"}]}',
        b'{"k": "\\\\\\u0000"}',
        b'{"k": ["Jos\\u00e9", "\\uD83D"]}',  # a harmless escape first, upper-case hex
        b'{"k": "\\uDc00"}',
    ],
)
def test_strict_json_finds_escaped_nul_and_surrogates_in_keys_and_deep_values(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        strict_json(body)


def test_strict_json_keeps_escaped_text_that_can_be_stored() -> None:
    body = b'{"k": ["Jos\\u00e9", "\\u2014", "\\ud83d\\ude00", "\\u0001"]}'
    assert strict_json(body) == {"k": ["Jos\u00e9", "\u2014", "\U0001f600", "\u0001"]}


def test_strict_json_keeps_text_that_only_looks_like_an_escape() -> None:
    # An escaped backslash followed by "u0000" is six ordinary characters, not NUL.
    assert strict_json(b'{"k": "\\\\u0000"}') == {"k": "\\u0000"}


ROUTE_MODULES = [
    importlib.import_module(f"{routes.__name__}.{info.name}")
    for info in pkgutil.iter_modules(routes.__path__)
]


def test_bulk_routes_validate_as_they_parse() -> None:
    bulk = {
        (route.path, method): model.__name__
        for module in ROUTE_MODULES
        for route in (module.router.routes if hasattr(module, "router") else [])
        if isinstance(route, PortalRoute) and (model := route._bulk_model()) is not None
        for method in route.methods
    }
    assert bulk == {
        ("/patients", "PUT"): "PatientUpsert",
        ("/appointments", "PUT"): "AppointmentUpsert",
        ("/ledger", "PUT"): "LedgerUpsert",
        ("/ledger/columns", "PUT"): "LedgerColumns",
    }
    # The fast path leaves NaN and Infinity to the strict one because no bulk model takes a
    # float (pydantic's own JSON parser would read them into one).
    for model in (PatientUpsert, AppointmentUpsert, LedgerUpsert, LedgerColumns):
        assert '"number"' not in json.dumps(model.model_json_schema()), model.__name__


_LINE = (
    '{"external_id": "L1", "mrn": "M1", "guarantor_mrn": "M1", "kind": "charge", '
    '"posted_date": "2026-11-20", "description": %s, "amount_cents": %s}'
)


@pytest.mark.parametrize(
    ("description", "amount", "parsed"),
    [
        ('"Visit Jos\\u00e9"', "100", True),
        ('"Visit"', "NaN", False),  # the strict path names NaN
        ('"Visit"', "100.0", False),  # not a JSON integer: the usual 422
        ('"a\\u0000b"', "100", False),  # NUL: the strict path refuses it
        ('"\\ud800"', "100", False),  # a lone surrogate
    ],
)
def test_validated_bulk_leaves_what_it_cannot_store_to_the_strict_path(
    description: str, amount: str, parsed: bool
) -> None:
    raw = ('{"lines": [' + _LINE % (description, amount) + "]}").encode()
    result = validated_bulk(raw, LedgerUpsert)
    if parsed:
        assert isinstance(result, LedgerUpsert)
        assert result.lines[0].description == "Visit Jos\u00e9"
    else:
        assert result is None
    assert validated_bulk(b"\xff" + raw, LedgerUpsert) is None


@pytest.mark.parametrize(
    ("description", "amount", "message"),
    [
        ('"Visit"', "NaN", "NaN is not a JSON number"),
        ('"Visit"', "100.0", "lines.0.amount_cents"),
        ('"a\\u0000b"', "100", "NUL"),
        ('"tab\there"', "100", "not valid JSON"),  # a raw control character
        ('"' + "x" * 1_000_000 + '"', "100", "lines.0.description"),  # 1 MB of text
    ],
)
def test_a_bulk_route_refuses_as_every_route_does(
    practice: PortalPractice, http: requests.Session, description: str, amount: str, message: str
) -> None:
    response = _raw(
        http,
        "PUT",
        f"{practice.staff_url}/ledger",
        '{"lines": [' + _LINE % (description, amount) + "]}",
        headers={**staff_headers(http, practice, role="billing"), **idem()},
    )
    assert message in _assert_plain_422(response)


_COLUMNS = (
    '{"external_id": ["L1", "L2"], "mrn": ["M1", "M1"], "guarantor_mrn": ["M1", "M1"], '
    '"kind": ["charge", "charge"], "service_date": [null, null], '
    '"posted_date": ["2026-11-20", "2026-11-20"], "code": ["", ""], '
    '"description": ["Visit", %s], "provider": ["", ""], "amount_cents": [100, %s], '
    '"responsibility": ["patient", "patient"]}'
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_COLUMNS % ('"Visit"', "NaN"), "NaN is not a JSON number"),
        (_COLUMNS % ('"Visit"', "100.5"), "amount_cents.1"),
        (_COLUMNS % ('"a\\u0000b"', "100"), "NUL"),
        (_COLUMNS % ('"\\ud800"', "100"), "surrogate"),
        (_COLUMNS % ('"' + "x" * 1_000_000 + '"', "100"), "description.1"),
        (_COLUMNS % ('"Visit"', "100, 200"), "differ in length"),
        (_COLUMNS.replace('"code": ["", ""], ', "") % ('"Visit"', "100"), "code"),
        ('{"external_id": "L1"}', "external_id"),
        ('{"lines": []}', "body.external_id: Field required"),
    ],
)
def test_a_batch_in_columns_is_refused_in_plain_words(
    practice: PortalPractice, http: requests.Session, body: str, message: str
) -> None:
    response = _raw(
        http,
        "PUT",
        f"{practice.staff_url}/ledger/columns",
        body,
        headers={**staff_headers(http, practice, role="billing"), **idem()},
    )
    assert message in _assert_plain_422(response)


def test_a_bulk_route_stores_bidi_and_markup_as_plain_text(
    practice: PortalPractice, http: requests.Session
) -> None:
    text = "\u202eevil</td><script>x</script> \U0001f600"
    headers = staff_headers(http, practice, role="manager")
    patient = {"mrn": "M1", "first_name": "Ann", "last_name": "Lee", "date_of_birth": "1980-01-02"}
    created = http.put(
        f"{practice.staff_url}/patients",
        json={"patients": [patient]},
        headers={**headers, **idem()},
    )
    assert created.status_code == 200, created.text
    # Raw UTF-8, no escapes: the body takes the one-pass path.
    body = '{"lines": [' + _LINE % (json.dumps(text, ensure_ascii=False), "100") + "]}"
    response = _raw(
        http, "PUT", f"{practice.staff_url}/ledger", body, headers={**headers, **idem()}
    )
    assert response.status_code == 200, response.text
    after = 0
    found = []
    while True:
        page = http.get(
            f"{practice.staff_url}/changes",
            params={"after": after, "limit": 1000},
            headers={**headers, FEED_LEVEL_HEADER: str(FEED_LEVEL)},
        ).json()
        found += [
            description
            for i in page["items"]
            if i["kind"] == "ledger_columns"
            for description in i["data"]["lines"]["description"]
        ]
        after = page["last_seq"]
        if not page["more"]:
            break
    assert text in found
