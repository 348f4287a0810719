"""Synthetic practices for the demo and the tests: patients, appointments, staff, patient accounts.

Everything is generated from a seeded random source (ids included), so the same seed and practice
code give the same data; appointment times follow today's date in the practice's timezone.
"""

from __future__ import annotations

import json
import random
import unicodedata
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select

from visitdesk.api.wire import AppointmentOut, PatientOut
from visitdesk.portal.accounts.account_rules import answer_key
from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.demo import seed_data as words
from visitdesk.portal.demo.seed_billing import add_demo_ledgers
from visitdesk.portal.demo.seed_registration import DemoCode, DemoPerson, add_demo_registration
from visitdesk.portal.persistence.clock import day_bounds, local_today, zone
from visitdesk.portal.persistence.db import Database, utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import (
    AccountLink,
    Appointment,
    Patient,
    PatientAccount,
    Practice,
    PracticeSetting,
    StaffUser,
)
from visitdesk.portal.persistence.models_registration import SecurityAnswer
from visitdesk.portal.web.security import make_password_hasher

DEMO_CODE = "demo"
DEMO_NAME = "Maple Grove Family Medicine"
DEMO_PHONE = "(413) 555-0142"
DEMO_TIMEZONE = "America/New_York"

#: Clinic hours for generated appointments, in the practice's timezone.
CLINIC_OPENS = time(8, 0)
CLINIC_CLOSES = time(17, 0)
SLOT_MINUTES = 15
UPCOMING_DAYS = 14


class PracticeExists(Exception):
    """A practice with this code is already in the database."""


@dataclass(frozen=True)
class StaffCredential:
    username: str
    password: str
    role: str
    name: str


@dataclass(frozen=True)
class PatientCredential:
    login: str
    password: str
    patient_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DemoCredentials:
    """What a seeded practice can be signed in with; ``to_json`` is the seed-demo --json output."""

    practice_id: str
    practice_code: str
    practice_name: str
    staff: list[StaffCredential]
    patients: list[PatientCredential]
    #: Demo only: pre-issued security codes in clear, for the simulator (see seed_registration).
    demo_codes: list[DemoCode] = field(default_factory=list)
    #: Demo only: patients with contact on file and no account, for the simulator to connect as.
    demo_people: list[DemoPerson] = field(default_factory=list)
    #: Demo only: where the portal drops email and text messages (Safe Health Codes).
    mail_drop_dir: str = ""
    text_drop_dir: str = ""

    def staff_by_role(self, role: str) -> StaffCredential:
        return next(cred for cred in self.staff if cred.role == role)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoCredentials:
        return cls(
            practice_id=str(data["practice_id"]),
            practice_code=str(data["practice_code"]),
            practice_name=str(data["practice_name"]),
            staff=[StaffCredential(**item) for item in data.get("staff", [])],
            patients=[
                PatientCredential(
                    login=str(item["login"]),
                    password=str(item["password"]),
                    patient_ids=[str(p) for p in item.get("patient_ids", [])],
                )
                for item in data.get("patients", [])
            ],
            demo_codes=[DemoCode(**item) for item in data.get("demo_codes", [])],
            demo_people=[DemoPerson(**item) for item in data.get("demo_people", [])],
            mail_drop_dir=str(data.get("mail_drop_dir", "")),
            text_drop_dir=str(data.get("text_drop_dir", "")),
        )


@dataclass(frozen=True)
class SeedSummary:
    patients: int
    appointments: int
    appointments_today: int
    changes: int


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class _Generator:
    def __init__(self, seed: int | str, code: str) -> None:
        self.rng = random.Random(f"{seed}:{code}")

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def password(self) -> str:
        first, second = self.rng.sample(words.PASSWORD_WORDS, 2)
        return f"{first}-{second}-{self.rng.randint(1000, 9999)}"

    def patient(self, index: int, today: date, practice_id: str, now: datetime) -> dict[str, Any]:
        rng = self.rng
        sex = rng.choices(("F", "M", "X", "U"), weights=(50, 47, 2, 1))[0]
        pool = {"F": words.FEMALE_FIRST, "M": words.MALE_FIRST}.get(sex, words.NEUTRAL_FIRST)
        first = rng.choice(pool)
        last = rng.choice(words.LAST_NAMES)
        if rng.random() < 0.06:
            other = rng.choice(words.LAST_NAMES)
            if other != last and " " not in other and " " not in last:
                last = f"{last}-{other}"
        age_days = int(rng.triangular(0, 95, 40) * 365.25)
        city, state, zip_prefix, area = rng.choice(words.PLACES)
        street = f"{rng.randint(1, 9899)} {rng.choice(words.STREETS)} {rng.choice(words.STREET_SUFFIXES)}"
        email = ""
        if rng.random() < 0.8:
            email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 999)}@{rng.choice(words.EMAIL_DOMAINS)}"
        return {
            "id": self.uuid(),
            "practice_id": practice_id,
            "mrn": f"{1000001 + index}",
            "first_name": first,
            "last_name": last,
            "middle_name": rng.choice(words.MIDDLE_INITIALS) if rng.random() < 0.4 else "",
            "date_of_birth": today - timedelta(days=age_days + rng.randint(0, 364)),
            "sex": sex,
            "address_line1": street,
            "address_line2": rng.choice(words.UNITS) if rng.random() < 0.15 else "",
            "city": city,
            "state": state,
            "postal_code": f"{zip_prefix}{rng.randint(0, 99):02d}",
            "phone": f"({area}) 555-{rng.randint(0, 9999):04d}" if rng.random() < 0.95 else "",
            "email": email,
            "created_at": now,
            "updated_at": now,
        }


def _database(target: Engine | Database) -> Database:
    return target if isinstance(target, Database) else Database(target)


def create_practice(
    target: Engine | Database,
    *,
    code: str,
    name: str,
    patients: int = 50,
    accounts: int = 2,
    seed: int | str = 0,
    phone: str = "",
    timezone: str = DEMO_TIMEZONE,
    hasher: PasswordHasher | None = None,
    code_hasher: CodeHasher | None = None,
    now: datetime | None = None,
    arrivals_spread_minutes: int = 45,
) -> DemoCredentials:
    """Create a practice with synthetic patients, appointments, staff and linked patient accounts.

    Each account's patients (the account holder, and for every third account a family member)
    have an appointment today, starting between 10 minutes before `now` and
    `arrivals_spread_minutes` after it (within today), so their I'm Here taps fall inside the
    arrival window now or over the next hours. Raises PracticeExists if the code is taken.
    """
    if patients < 1:
        raise ValueError("a practice needs at least one patient")
    db = _database(target)
    code = code.strip().casefold()
    hasher = hasher or make_password_hasher()
    gen = _Generator(seed, code)
    now = now or utcnow()
    tz = zone(timezone)
    today = local_today(timezone, now)
    practice_id = gen.uuid()

    rows = [gen.patient(i, today, practice_id, now) for i in range(patients)]

    # Today's appointments: providers' slots through the clinic day, filled at random.
    slots = [
        (
            provider,
            location,
            datetime.combine(today, CLINIC_OPENS, tzinfo=tz) + timedelta(minutes=m),
        )
        for provider, location in words.PROVIDERS
        for m in range(0, _clinic_minutes(), SLOT_MINUTES)
    ]
    family_accounts = [k for k in range(accounts) if k % 3 == 1]
    linked_needed = accounts + len(family_accounts)
    today_count = min(
        len(slots), patients, max(linked_needed, min(patients // 10, len(slots) * 7 // 10))
    )
    if linked_needed > today_count:
        raise ValueError("not enough patients or clinic slots for the requested accounts")
    today_patients = gen.rng.sample(range(patients), today_count)
    # Unsorted, so the patients with portal accounts see different providers through the day.
    today_slots = gen.rng.sample(range(len(slots)), today_count)
    appointments: list[dict[str, Any]] = []
    day_start, day_end = day_bounds(timezone, today)
    for number, (patient_index, slot_index) in enumerate(
        zip(today_patients, today_slots, strict=True)
    ):
        provider, location, starts = slots[slot_index]
        if number < linked_needed:
            # Patients with the app come in around now (linked_iter below takes them first).
            minutes = gen.rng.randrange(-10, max(arrivals_spread_minutes, -5), 5)
            starts = now.replace(second=0, microsecond=0) + timedelta(minutes=minutes)
            starts = min(max(starts, day_start), day_end - timedelta(minutes=1))
        appointments.append(_appointment(gen, rows[patient_index], provider, location, starts, now))
    upcoming = min(patients // 3, UPCOMING_DAYS * len(slots) // 2)
    for _ in range(upcoming):
        day = today + timedelta(days=gen.rng.randint(1, UPCOMING_DAYS))
        provider, location = gen.rng.choice(words.PROVIDERS)
        minute = gen.rng.randrange(0, _clinic_minutes(), SLOT_MINUTES)
        starts = datetime.combine(day, CLINIC_OPENS, tzinfo=tz) + timedelta(minutes=minute)
        appt = _appointment(gen, rows[gen.rng.randrange(patients)], provider, location, starts, now)
        if gen.rng.random() < 0.05:
            appt["status"] = "cancelled"
        appointments.append(appt)
    for number, appt in enumerate(appointments):
        appt["external_id"] = f"PM-{100001 + number}"

    # Patient accounts, each linked to patients with an appointment today.
    account_rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    answer_rows: list[dict[str, Any]] = []
    credentials: list[PatientCredential] = []
    linked_iter = iter(today_patients)
    for k in range(accounts):
        holder = rows[next(linked_iter)]
        password = gen.password()
        account_id = gen.uuid()
        account: dict[str, Any] = {
            "id": account_id,
            "first_name": holder["first_name"],
            "last_name": holder["last_name"],
            "password_hash": hasher.hash(password),
            "email": None,
            "username": None,
            "created_at": now,
            "active": True,
        }
        first, last = _ascii(holder["first_name"]), _ascii(holder["last_name"])
        if k % 4 == 3:
            login = f"{first[:1]}{last}{k}_{_ascii(code)}"
            account["username"] = login
            # Registration by username ends with the three security questions; a seeded account
            # has been through it (the portal keeps the dashboard closed until they are set).
            for position, question_id in enumerate(("q01", "q05", "q09"), 1):
                answer_rows.append(
                    {
                        "account_id": account_id,
                        "position": position,
                        "question_id": question_id,
                        "answer_hash": hasher.hash(answer_key(gen.password())),
                        "set_at": now,
                    }
                )
        else:
            login = f"{first}.{last}.{_ascii(code)}{k}@example.net"
            account["email"] = login
            account["email_confirmed_at"] = now
            holder["email"] = login
        account_rows.append(account)
        linked = [holder]
        if k in family_accounts:
            child = rows[next(linked_iter)]
            child["last_name"] = holder["last_name"]
            for key in ("address_line1", "address_line2", "city", "state", "postal_code", "phone"):
                child[key] = holder[key]
            child["date_of_birth"] = today - timedelta(days=gen.rng.randint(2 * 365, 16 * 365))
            linked.append(child)
        for position, patient in enumerate(linked):
            link_rows.append(
                {
                    "id": gen.uuid(),
                    "account_id": account_id,
                    "patient_id": patient["id"],
                    "practice_id": practice_id,
                    "relationship": "self" if position == 0 else "child",
                    "created_at": now + timedelta(microseconds=position),
                }
            )
        credentials.append(PatientCredential(login, password, [p["id"] for p in linked]))

    staff_rows: list[dict[str, Any]] = []
    staff_credentials: list[StaffCredential] = []
    for role, username, staff_name in words.STAFF:
        password = gen.password()
        staff_rows.append(
            {
                "id": gen.uuid(),
                "practice_id": practice_id,
                "username": username,
                "name": staff_name,
                "role": role,
                "password_hash": hasher.hash(password),
                "active": True,
                "created_at": now,
            }
        )
        staff_credentials.append(StaffCredential(username, password, role, staff_name))

    # The seeded accounts stand for patients the front desk matched by hand before go-live.
    front_desk = next(row for row in staff_rows if row["role"] == "front_desk")
    for link in link_rows:
        link.update(
            method="staff_match", made_by_staff_id=front_desk["id"], made_by=front_desk["name"]
        )
    mrn_of = {row["id"]: row["mrn"] for row in rows}
    with db.write() as session:
        if session.scalar(select(Practice.id).where(Practice.code == code)) is not None:
            raise PracticeExists(f"a practice with code {code!r} already exists")
        session.add(
            Practice(
                id=practice_id,
                code=code,
                name=name,
                phone=phone,
                timezone=timezone,
                last_seq=0,
                created_at=now,
            )
        )
        session.flush()
        session.execute(
            insert(PracticeSetting),
            [
                {"practice_id": practice_id, "key": "security_code_days", "value": "14"},
                {"practice_id": practice_id, "key": "im_here_enabled", "value": "true"},
            ],
        )
        session.execute(insert(StaffUser), staff_rows)
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Patient), rows[start : start + 10_000])
        if appointments:
            session.execute(insert(Appointment), appointments)
        if account_rows:
            session.execute(insert(PatientAccount), account_rows)
            session.execute(insert(AccountLink), link_rows)
        if answer_rows:
            session.execute(insert(SecurityAnswer), answer_rows)
        changes = [_patient_change(row) for row in rows]
        changes += [_appointment_change(appt, mrn_of[appt["patient_id"]]) for appt in appointments]
        changes += add_demo_ledgers(
            session, gen.rng, gen.uuid, practice_id, rows, link_rows, today, now
        )
        append_changes(session, practice_id, changes)
        demo_codes: list[DemoCode] = []
        demo_people: list[DemoPerson] = []
        if code_hasher is not None:
            desk = next(row for row in staff_rows if row["role"] == "front_desk")
            demo_codes, demo_people = add_demo_registration(
                session,
                gen.rng,
                practice_id,
                rows,
                link_rows,
                desk,
                code_hasher,
                today,
            )
    return DemoCredentials(
        practice_id=practice_id,
        practice_code=code,
        practice_name=name,
        staff=staff_credentials,
        patients=credentials,
        demo_codes=demo_codes,
        demo_people=demo_people,
    )


def seed_demo(
    target: Engine | Database,
    *,
    patients: int = 5000,
    seed: int | str = 0,
    accounts: int = 10,
    hasher: PasswordHasher | None = None,
    code_hasher: CodeHasher | None = None,
    now: datetime | None = None,
    arrivals_spread_minutes: int = 45,
) -> DemoCredentials:
    """The demo practice, Maple Grove Family Medicine (code ``demo``)."""
    return create_practice(
        target,
        code=DEMO_CODE,
        name=DEMO_NAME,
        phone=DEMO_PHONE,
        timezone=DEMO_TIMEZONE,
        patients=patients,
        accounts=accounts,
        seed=seed,
        hasher=hasher,
        code_hasher=code_hasher,
        now=now,
        arrivals_spread_minutes=arrivals_spread_minutes,
    )


def _clinic_minutes() -> int:
    opens = CLINIC_OPENS.hour * 60 + CLINIC_OPENS.minute
    closes = CLINIC_CLOSES.hour * 60 + CLINIC_CLOSES.minute
    return closes - opens


def _appointment(
    gen: _Generator,
    patient: dict[str, Any],
    provider: str,
    location: str,
    starts: datetime,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": gen.uuid(),
        "practice_id": patient["practice_id"],
        "patient_id": patient["id"],
        "starts_at": starts.astimezone(UTC),
        "duration_minutes": gen.rng.choice((15, 15, 20, 30)),
        "provider": provider,
        "location": location,
        "reason": gen.rng.choice(words.REASONS),
        "status": "scheduled",
        "updated_at": now,
    }


_PATIENT_OUT_FIELDS = tuple(PatientOut.model_fields)
_APPOINTMENT_OUT_FIELDS = tuple(
    name for name in AppointmentOut.model_fields if name not in ("mrn", "no_show_at", "no_show_by")
)


def _patient_change(row: dict[str, Any]) -> NewChange:
    out = PatientOut(**{name: row[name] for name in _PATIENT_OUT_FIELDS})
    return NewChange.of("patient", out, row["id"])


def _appointment_change(row: dict[str, Any], mrn: str) -> NewChange:
    out = AppointmentOut(mrn=mrn, **{name: row[name] for name in _APPOINTMENT_OUT_FIELDS})
    return NewChange.of("appointment", out, row["id"])
