"""Synthetic practices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.fixtures_portal import fast_hasher
from visitdesk.portal.demo.seed import PracticeExists, create_practice, seed_demo
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.models import (
    AccountLink,
    Appointment,
    Change,
    Patient,
    PatientAccount,
    Practice,
)
from visitdesk.portal.persistence.models_registration import SecurityAnswer


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'seed.sqlite3'}")
    database.migrate_schema()
    yield database
    database.dispose()


def test_demo_practice_contents(db: Database) -> None:
    creds = seed_demo(db, patients=5000, seed=1, hasher=fast_hasher())
    tz = ZoneInfo("America/New_York")
    today = datetime.now(UTC).astimezone(tz).date()
    with db.read() as session:
        practice = session.get_one(Practice, creds.practice_id)
        assert (practice.code, practice.timezone) == ("demo", "America/New_York")
        assert practice.phone
        assert session.scalar(select(func.count()).select_from(Patient)) == 5000
        names = set(session.scalars(select(Patient.last_name)))
        assert any("-" in n for n in names)
        assert any(not n.isascii() for n in names)
        assert len(set(session.scalars(select(Patient.mrn)))) == 5000
        appts = session.scalars(select(Appointment)).all()
        todays = [a for a in appts if a.starts_at.astimezone(tz).date() == today]
        assert len(todays) >= 50
        linked = session.scalars(select(AccountLink.patient_id)).all()
        # The schedule keeps clinic hours; patients with the app come in around now, so that
        # their I'm Here falls inside the arrival window.
        hours = {a.starts_at.astimezone(tz).hour for a in todays if a.patient_id not in linked}
        assert min(hours) >= 8 and max(hours) <= 16 and len(hours) >= 5
        assert len({a.provider for a in todays}) >= 3
        today_patients = {a.patient_id for a in todays}
        assert set(linked) <= today_patients
        now = datetime.now(UTC)
        for appt in todays:
            if appt.patient_id in linked:
                assert now - timedelta(minutes=30) <= appt.starts_at <= now + timedelta(minutes=60)
        assert practice.last_seq == session.scalar(select(func.count()).select_from(Change))
        # Username accounts have been through registration: their security questions are set.
        username_accounts = set(
            session.scalars(select(PatientAccount.id).where(PatientAccount.username.is_not(None)))
        )
        assert username_accounts
        answered = session.execute(
            select(SecurityAnswer.account_id, func.count()).group_by(SecurityAnswer.account_id)
        ).all()
        assert dict(answered) == dict.fromkeys(username_accounts, 3)
    assert len(creds.patients) == 10
    assert {s.role for s in creds.staff} == {"front_desk", "billing", "manager"}


def test_same_code_twice_raises(db: Database) -> None:
    create_practice(db, code="dup", name="One", patients=30, accounts=1, hasher=fast_hasher())
    with pytest.raises(PracticeExists):
        create_practice(db, code="DUP", name="Two", patients=30, accounts=1, hasher=fast_hasher())
