"""The audit trail of codes and registrations (hash-chained, tamper-evident), and secrecy: the
full code never lands in the database, the logs or the change feed."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from tests.patient_flows import Flows, body_of, safe_health_code_in
from tests.portal.helpers import idem
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.models_registration import AuditEvent


def _events(flows: Flows) -> list[AuditEvent]:
    with flows.db.read() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.practice_id == flows.practice.practice_id)
                .order_by(AuditEvent.seq)
            )
        )


def _busy_practice(flows: Flows) -> dict[str, str]:
    """Issue, revoke, reissue, a wrong attempt and a registration; returns the codes seen."""
    patient = flows.add_patient("Audit", "Trail", "1960-06-06")
    first = flows.issued_code(patient)
    flows.http.post(
        f"{flows.practice.staff_url}/security-codes/{first['security_code']['id']}/reissue",
        headers={**flows.staff(), **idem()},
        timeout=10,
    ).raise_for_status()
    second = flows.codes(patient_id=patient, status="active")[0]
    reissued_code = None
    for item in flows.feed("security_code"):
        assert "code" not in item["data"]
    # The reissued code's value is only in that response; fetch a fresh one to use.
    revoke_url = f"{flows.practice.staff_url}/security-codes/{second['id']}/reissue"
    third = flows.http.post(revoke_url, headers={**flows.staff(), **idem()}, timeout=10).json()
    reissued_code = third["code"]
    assert flows.register_username(reissued_code, "Audit", "Wrong").status_code == 422
    assert flows.register_username(reissued_code, "Audit", "Trail").status_code == 201
    return {"first": first["code"], "used": reissued_code}


def test_code_events_are_audited_without_the_code(flows: Flows) -> None:
    codes = _busy_practice(flows)
    events = _events(flows)
    actions = [event.action for event in events]
    assert actions.count("security_code.issued") == 3
    assert actions.count("security_code.revoked") == 2
    assert "security_code.failed_attempt" in actions
    assert "security_code.used" in actions and "account.registered" in actions
    issued = next(e for e in events if e.action == "security_code.issued")
    assert issued.actor_kind == "staff"
    assert issued.actor_name == flows.practice.staff["front_desk"].name
    assert issued.patient_id is not None and issued.subject_kind == "security_code"
    dumped = json.dumps([[e.details, e.actor_name, e.subject_id] for e in events])
    for code in codes.values():
        assert code not in dumped and code.replace("-", "") not in dumped
        assert code[-4:] not in dumped  # not even the hint

    with flows.db.read() as session:
        result = audit.verify(session, flows.practice.practice_id)
    assert result.ok and result.checked == len(events)


def test_the_audit_chain_detects_a_changed_a_removed_and_a_truncated_row(flows: Flows) -> None:
    _busy_practice(flows)
    events = _events(flows)
    target = events[2]
    with flows.db.write() as session:
        session.execute(
            text(
                "UPDATE audit_events SET actor_name = 'Somebody Else' "
                "WHERE practice_id = :p AND seq = :s"
            ),
            {"p": target.practice_id, "s": target.seq},
        )
    with flows.db.read() as session:
        changed = audit.verify(session, flows.practice.practice_id)
    assert not changed.ok and changed.broken_at_seq == target.seq
    assert changed.reason == "the event was changed"

    # Put it back: the chain verifies again.
    with flows.db.write() as session:
        session.execute(
            text("UPDATE audit_events SET actor_name = :n WHERE practice_id = :p AND seq = :s"),
            {"n": target.actor_name, "p": target.practice_id, "s": target.seq},
        )
        assert audit.verify(session, flows.practice.practice_id).ok

    with flows.db.write() as session:
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.practice_id == target.practice_id, AuditEvent.seq == target.seq
            )
        )
        removed = audit.verify(session, flows.practice.practice_id)
        assert not removed.ok and removed.broken_at_seq == target.seq
        session.rollback()

    last = events[-1]
    with flows.db.write() as session:
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.practice_id == last.practice_id, AuditEvent.seq == last.seq
            )
        )
        truncated = audit.verify(session, flows.practice.practice_id)
    assert not truncated.ok and truncated.broken_at_seq == last.seq


def test_codes_never_reach_the_database_logs_or_feed(
    flows: Flows, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="visitdesk")
    codes = _busy_practice(flows)
    # A Safe Health Code too.
    flows.add_patient("Secret", "Keeper", "1955-05-05", email="secret.file@example.net")
    _, headers = flows.email_account()
    started = flows.connect(headers, "Secret", "Keeper", "1955-05-05").json()
    shc = safe_health_code_in(body_of(flows.mailbox.wait_for("secret.file@example.net")[0]))
    assert (
        flows.post(f"/connect/{started['connect_id']}/verify", {"code": shc}, headers).status_code
        == 201
    )

    feed_text = json.dumps(flows.feed())
    data_dir = Path(flows.portal.config.data_dir)
    db_bytes = b"".join(
        path.read_bytes() for path in data_dir.glob("portal.sqlite3*") if path.is_file()
    )
    assert db_bytes  # the scan read the database
    for code in codes.values():
        for form in (code, code.replace("-", ""), code.lower()):
            assert form.encode() not in db_bytes
            assert form not in caplog.text
            assert form not in feed_text
    assert f"Safe Health Code is {shc}" not in caplog.text
    assert b"Safe Health Code is" not in db_bytes
    assert "security code" in caplog.text  # the flow did log
