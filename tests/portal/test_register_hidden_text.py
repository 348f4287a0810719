"""Names with invisible formatting characters are refused with a clear 422 and nothing is stored."""

from __future__ import annotations

import uuid

import pytest

from tests.patient_flows import STRONG_PASSWORD, Flows


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u2066", "\x07"])
def test_registration_by_email_refuses_hidden_characters_in_names(
    flows: Flows, hidden: str
) -> None:
    address = f"{uuid.uuid4().hex[:12]}@example.org"
    response = flows.register_email(f"Eve{hidden}", "Lee", address)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "first_name contains invisible formatting or control characters" in detail
    assert f"U+{ord(hidden):04X}" in detail
    # Nothing was stored: the address cannot sign in.
    signed_in = flows.post("/sessions", {"login": address, "password": STRONG_PASSWORD})
    assert signed_in.status_code == 401


def test_registration_with_a_code_refuses_hidden_characters_before_using_the_code(
    flows: Flows,
) -> None:
    response = flows.register_username("AAAA-BBBB-CCCC", "Eve", "Lee\u202e 03/01/1980")
    assert response.status_code == 422, response.text
    assert "last_name contains invisible" in response.json()["detail"]


def test_connecting_refuses_hidden_characters(flows: Flows) -> None:
    _address, headers = flows.email_account()
    response = flows.connect(headers, "Ann\u200d", "Lee", "1980-03-01")
    assert response.status_code == 422, response.text
    assert "first_name contains invisible" in response.json()["detail"]


def test_international_names_are_welcome(flows: Flows) -> None:
    address = f"{uuid.uuid4().hex[:12]}@example.org"
    response = flows.register_email("Thị Phượng", "Nguyễn", address)
    assert response.status_code == 202, response.text
