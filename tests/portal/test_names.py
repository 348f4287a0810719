"""Names a patient types refuse control and invisible formatting characters (422), so an
attacker's line break in a first name never reaches an email or the desk."""

from __future__ import annotations

import pytest

from tests.patient_flows import Flows

HOSTILE = [
    "Eve\nBcc: victim@example.org",
    "Eve\r\nYour account is locked",
    "E\u202eve",  # right-to-left override
    "E\u200bve",  # zero-width space
    "Eve\tTab",
]


@pytest.mark.parametrize("first", HOSTILE)
def test_registration_and_connect_names_refuse_hidden_characters(flows: Flows, first: str) -> None:
    by_email = flows.register_email(first, "Hart", "eve.hart@example.org")
    assert by_email.status_code == 422, by_email.text
    assert "first_name" in by_email.json()["detail"]
    assert flows.mailbox.to("eve.hart@example.org") == []

    patient = flows.add_patient("Eve", "Hart", "1985-05-05")
    by_username = flows.register_username(flows.issued_code(patient)["code"], "Eve", first)
    assert by_username.status_code == 422 and "last_name" in by_username.json()["detail"]

    _, headers = flows.email_account()
    connect = flows.connect(headers, first, "Hart", "1985-05-05")
    assert connect.status_code == 422 and "first_name" in connect.json()["detail"]
