"""Flow 3: connecting an email account to a practice with a Safe Health Code, or via the queue."""

from __future__ import annotations

from tests.patient_flows import Flows, body_of, safe_health_code_in
from visitdesk.api.wire_registration import RegistrationOut


def test_connect_by_email_step_by_step(flows: Flows) -> None:
    patient_id = flows.add_patient(
        "Grace", "Whitfield", "1979-11-23", email="grace.on.file@example.net", phone="413-555-0199"
    )
    address, headers = flows.email_account("Grace", "Whitfield")

    # Step 1: identifying details; exactly one record matches.
    started = flows.connect(headers, "grace", "WHITFIELD", "1979-11-23", channel="email")
    assert started.status_code == 200, started.text
    result = started.json()
    assert result["outcome"] == "code_sent" and result["channel"] == "email"
    assert result["sent_to"] == "g\u2022\u2022\u2022@e\u2022\u2022\u2022.net"
    assert "grace.on.file" not in started.text and patient_id not in started.text

    # Step 2: the code goes to the email on the record (not the account's address).
    [mail] = flows.mailbox.wait_for("grace.on.file@example.net")
    code = safe_health_code_in(body_of(mail))
    assert all("Safe Health Code" not in m["Subject"] for m in flows.mailbox.to(address))

    # Step 3: entering it connects the account; the patient's appointments become visible.
    verified = flows.post(f"/connect/{result['connect_id']}/verify", {"code": code}, headers)
    assert verified.status_code == 201, verified.text
    assert (verified.json()["patient_id"], verified.json()["relationship"]) == (patient_id, "self")
    assert [p["patient_id"] for p in flows.get("/patients", headers).json()] == [patient_id]
    assert flows.get("/appointments", headers).status_code == 200

    # A code works once; connecting again says so.
    again = flows.post(f"/connect/{result['connect_id']}/verify", {"code": code}, headers)
    assert again.status_code == 409
    repeat = flows.connect(headers, "Grace", "Whitfield", "1979-11-23")
    assert repeat.json()["outcome"] == "already_connected"


def test_connect_by_text_message(flows: Flows) -> None:
    patient_id = flows.add_patient("Omar", "Haddad", "1965-02-14", phone="(413) 555-0123")
    _, headers = flows.email_account("Omar", "Haddad")
    started = flows.connect(headers, "Omar", "Haddad", "1965-02-14", channel="text").json()
    assert (started["outcome"], started["channel"]) == ("code_sent", "text")
    assert started["sent_to"].endswith("23")
    [text] = flows.wait_for_text("(413) 555-0123")
    code = safe_health_code_in(text.body)
    verified = flows.post(f"/connect/{started['connect_id']}/verify", {"code": code}, headers)
    assert verified.status_code == 201
    assert verified.json()["patient_id"] == patient_id


def test_the_chosen_channel_falls_back_to_the_contact_on_file(flows: Flows) -> None:
    flows.add_patient("Lena", "Fischer", "1999-09-09", email="lena.file@example.net")
    _, headers = flows.email_account()
    started = flows.connect(headers, "Lena", "Fischer", "1999-09-09", channel="text").json()
    assert (started["outcome"], started["channel"]) == ("code_sent", "email")
    flows.mailbox.wait_for("lena.file@example.net")


def test_abandoning_leaves_nothing_connected(flows: Flows) -> None:
    flows.add_patient("Ruth", "Abandon", "1950-05-05", email="ruth.file@example.net")
    _, headers = flows.email_account()
    started = flows.connect(headers, "Ruth", "Abandon", "1950-05-05").json()
    code = safe_health_code_in(body_of(flows.mailbox.wait_for("ruth.file@example.net")[0]))
    assert (
        flows.http.delete(
            f"{flows.patient_url}/connect/{started['connect_id']}", headers=headers, timeout=10
        ).status_code
        == 204
    )
    late = flows.post(f"/connect/{started['connect_id']}/verify", {"code": code}, headers)
    assert late.status_code == 422 and "Start again" in late.json()["detail"]
    assert flows.get("/patients", headers).json() == []

    # Starting again voids the previous code too.
    first = flows.connect(headers, "Ruth", "Abandon", "1950-05-05").json()
    first_code = safe_health_code_in(
        body_of(flows.mailbox.wait_for("ruth.file@example.net", 2)[-1])
    )
    flows.connect(headers, "Ruth", "Abandon", "1950-05-05")
    stale = flows.post(f"/connect/{first['connect_id']}/verify", {"code": first_code}, headers)
    assert stale.status_code == 422
    assert flows.get("/patients", headers).json() == []


def test_no_match_goes_to_the_registration_queue(flows: Flows) -> None:
    address, headers = flows.email_account("Nadia", "Nomatch")
    started = flows.connect(
        headers, "Nadia", "Nomatch", "2001-01-01", phone="413 555 0000", postal_code="01060"
    )
    assert started.status_code == 200
    result = started.json()
    assert result["outcome"] == "queued" and result["connect_id"] is None
    assert "office will review" in result["message"]

    [item] = flows.feed("registration")
    queued = RegistrationOut.model_validate(item["data"])
    assert queued.id == result["registration_id"] == item["id"]
    assert (queued.status, queued.first_name, queued.last_name) == ("pending", "Nadia", "Nomatch")
    assert (queued.email, queued.phone, queued.postal_code) == (address, "413 555 0000", "01060")
    assert queued.patient_id is None and queued.decided_at is None

    # The same request again does not fill the queue twice.
    again = flows.connect(
        headers, "Nadia", "Nomatch", "2001-01-01", phone="413 555 0000", postal_code="01060"
    )
    assert again.json()["registration_id"] == queued.id
    assert len(flows.feed("registration")) == 1
    [mine] = flows.get("/registrations", headers).json()
    assert (mine["id"], mine["status"], mine["practice_name"]) == (
        queued.id,
        "pending",
        flows.practice.practice_name,
    )


def test_namesakes_queue_unless_phone_or_zip_tells_them_apart(flows: Flows) -> None:
    flows.add_patient("Sam", "Twin", "2010-04-04", email="twin.a@example.net", postal_code="01060")
    flows.add_patient("Sam", "Twin", "2010-04-04", email="twin.b@example.net", postal_code="01002")
    _, headers = flows.email_account()
    assert flows.connect(headers, "Sam", "Twin", "2010-04-04").json()["outcome"] == "queued"
    narrowed = flows.connect(headers, "Sam", "Twin", "2010-04-04", postal_code="01002").json()
    assert narrowed["outcome"] == "code_sent"
    flows.mailbox.wait_for("twin.b@example.net")
    assert flows.mailbox.to("twin.a@example.net") == []


def test_a_record_without_contact_goes_to_the_queue(flows: Flows) -> None:
    flows.add_patient("Walter", "Nocontact", "1940-12-12")
    _, headers = flows.email_account()
    started = flows.connect(headers, "Walter", "Nocontact", "1940-12-12", channel="text")
    assert started.json()["outcome"] == "queued"
    assert [i["data"]["last_name"] for i in flows.feed("registration")] == ["Nocontact"]


def test_knowing_name_and_birth_date_is_not_enough(flows: Flows) -> None:
    victim = flows.add_patient(
        "Helen", "Target", "1970-07-07", email="helen.real@example.net", phone="413-555-0177"
    )
    # The attacker registers with their own email and typed phone number.
    attacker_email, headers = flows.email_account("Helen", "Target")
    for channel in ("email", "text"):
        started = flows.connect(
            headers, "Helen", "Target", "1970-07-07", channel=channel, phone="413-555-0177"
        ).json()
        assert started["outcome"] == "code_sent"
    # Both codes went to the record's contact; nothing reached the attacker.
    flows.mailbox.wait_for("helen.real@example.net")
    [text] = flows.wait_for_text("413-555-0177")
    assert all("Safe Health Code" not in m["Subject"] for m in flows.mailbox.to(attacker_email))
    # Guessing fails, voids the code, then throttles the account.
    real = safe_health_code_in(text.body)
    guesses = [c for c in (f"{n:06d}" for n in range(7)) if c != real][:6]
    statuses = [
        flows.post(f"/connect/{started['connect_id']}/verify", {"code": guess}, headers)
        for guess in guesses
    ]
    assert [r.status_code for r in statuses[:5]] == [422] * 5
    assert statuses[5].status_code == 429
    assert victim not in {p["patient_id"] for p in flows.get("/patients", headers).json()}


def test_safe_health_code_brute_force_is_throttled(flows: Flows) -> None:
    flows.add_patient("Brute", "Force", "1988-08-08", email="brute.file@example.net")
    _, headers = flows.email_account()
    started = flows.connect(headers, "Brute", "Force", "1988-08-08").json()
    code = safe_health_code_in(body_of(flows.mailbox.wait_for("brute.file@example.net")[0]))
    wrong = [c for c in (f"{n:06d}" for n in range(10)) if c != code][:5]
    details = []
    for guess in wrong:
        response = flows.post(f"/connect/{started['connect_id']}/verify", {"code": guess}, headers)
        assert response.status_code == 422
        details.append(response.json()["detail"])
    assert "4 tries left" in details[0] and "Too many wrong entries" in details[-1]
    # Even the right code no longer works, and the account must wait before trying more.
    right = flows.post(f"/connect/{started['connect_id']}/verify", {"code": code}, headers)
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0
    assert flows.get("/patients", headers).json() == []


def test_connect_requests_are_limited_per_account_matched_or_not(flows: Flows) -> None:
    _, headers = flows.email_account()
    # Unmatched requests wait in the office's queue: an account cannot flood it.
    outcomes = [flows.connect(headers, "Nobody", f"Unknown{n}", "1970-01-01") for n in range(6)]
    assert [r.status_code for r in outcomes[:5]] == [200] * 5
    assert {r.json()["outcome"] for r in outcomes[:5]} == {"queued"}
    assert outcomes[5].status_code == 429
    assert int(outcomes[5].headers["Retry-After"]) > 0


def test_safe_health_codes_are_limited_per_patient_record_across_accounts(flows: Flows) -> None:
    flows.add_patient("Many", "Requests", "1977-07-17", email="many.file@example.net")
    accounts = [flows.email_account()[1] for _ in range(4)]
    outcomes = [flows.connect(headers, "Many", "Requests", "1977-07-17") for headers in accounts]
    assert [r.status_code for r in outcomes] == [200, 200, 200, 429]
    assert "sent to this patient" in outcomes[3].json()["detail"]
    assert len(flows.mailbox.wait_for("many.file@example.net", 3)) == 3


def test_wrong_safe_health_codes_count_per_patient_record_across_accounts(flows: Flows) -> None:
    flows.add_patient("Guessed", "Often", "1966-06-16", email="guessed.file@example.net")
    first, second = flows.email_account()[1], flows.email_account()[1]
    started_first = flows.connect(first, "Guessed", "Often", "1966-06-16").json()
    code_first = safe_health_code_in(body_of(flows.mailbox.wait_for("guessed.file@example.net")[0]))
    started_second = flows.connect(second, "Guessed", "Often", "1966-06-16").json()
    mails = flows.mailbox.wait_for("guessed.file@example.net", 2)
    code_second = safe_health_code_in(body_of(mails[1]))
    wrong = [c for c in (f"{n:06d}" for n in range(9)) if c not in (code_first, code_second)]
    for guess in wrong[:3]:
        assert (
            flows.post(
                f"/connect/{started_first['connect_id']}/verify", {"code": guess}, first
            ).status_code
            == 422
        )
    for guess in wrong[3:5]:
        assert (
            flows.post(
                f"/connect/{started_second['connect_id']}/verify", {"code": guess}, second
            ).status_code
            == 422
        )
    # Five wrong guesses against this patient in all: no account may try again for a while.
    right = flows.post(
        f"/connect/{started_second['connect_id']}/verify", {"code": code_second}, second
    )
    assert right.status_code == 429
    assert flows.get("/patients", second).json() == []


def test_connect_ids_belong_to_their_account(flows: Flows) -> None:
    flows.add_patient("Owned", "Connect", "1991-01-19", email="owned.file@example.net")
    _, owner = flows.email_account()
    _, other = flows.email_account()
    started = flows.connect(owner, "Owned", "Connect", "1991-01-19").json()
    code = safe_health_code_in(body_of(flows.mailbox.wait_for("owned.file@example.net")[0]))
    stolen = flows.post(f"/connect/{started['connect_id']}/verify", {"code": code}, other)
    assert stolen.status_code == 404
    assert (
        flows.http.delete(
            f"{flows.patient_url}/connect/{started['connect_id']}", headers=other, timeout=10
        ).status_code
        == 404
    )
    assert (
        flows.connect(other, "Owned", "Connect", "1991-01-19", practice_code="nope").status_code
        == 404
    )
    assert flows.post("/connect", {"practice_code": "x"}).status_code in (401, 422)
