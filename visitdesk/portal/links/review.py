"""The "Needs review" rules over a practice's account links, and their per-practice settings.

Each rule is one SQL query that narrows the links to candidates; the little that depends on a
person's age on two different days is decided here in Python. "Now" comes from the app's clock,
so tests can look at the list as it will be years later.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from visitdesk.api.wire_links import (
    MAX_REVIEW_ITEMS,
    ReviewItem,
    ReviewList,
    ReviewRule,
    ReviewSettings,
)
from visitdesk.portal.links.listing import account_login
from visitdesk.portal.persistence.clock import local_today
from visitdesk.portal.persistence.models import (
    AccountLink,
    Patient,
    PatientAccount,
    Practice,
    PracticeSetting,
)
from visitdesk.portal.persistence.models_registration import SecurityCode

SETTINGS_KEY = "link_review"
ADULT_AGE = 18
#: Relationships that make the patient the account holder's dependant.
DEPENDANT = ("child", "dependent")


def read_settings(session: Session, practice_id: str) -> ReviewSettings:
    row = session.get(PracticeSetting, (practice_id, SETTINGS_KEY))
    if row is None:
        return ReviewSettings()
    return ReviewSettings.model_validate(json.loads(row.value))


def write_settings(session: Session, practice_id: str, settings: ReviewSettings) -> None:
    value = settings.model_dump_json()
    row = session.get(PracticeSetting, (practice_id, SETTINGS_KEY))
    if row is None:
        session.add(PracticeSetting(practice_id=practice_id, key=SETTINGS_KEY, value=value))
    else:
        row.value = value


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def years_before(day: date, years: int) -> date:
    """The birthday of someone who turns `years` on `day` (28 Feb for 29 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def _item(
    rule: ReviewRule,
    account: PatientAccount,
    detail: str,
    link: AccountLink | None = None,
    patient: Patient | None = None,
) -> ReviewItem:
    return ReviewItem(
        rule=rule,
        account_id=account.id,
        account_name=_name(account.first_name, account.last_name),
        account_login=account_login(account),
        link_id=None if link is None else link.id,
        patient_id=None if patient is None else patient.id,
        patient_name="" if patient is None else f"{patient.last_name}, {patient.first_name}",
        detail=detail,
    )


def _active_links(practice_id: str) -> Select[AccountLink, PatientAccount, Patient]:
    return (
        select(AccountLink, PatientAccount, Patient)
        .join(PatientAccount, PatientAccount.id == AccountLink.account_id)
        .join(Patient, Patient.id == AccountLink.patient_id)
        .where(AccountLink.practice_id == practice_id, AccountLink.revoked_at.is_(None))
    )


def _age_rules(
    session: Session, practice_id: str, settings: ReviewSettings, today: date, zone: str
) -> list[ReviewItem]:
    """Minors who reached the review age or 18 since they were linked, and adults linked as
    someone's dependant. Candidates: non-self links of patients at least the review age today."""
    items: list[ReviewItem] = []
    query = _active_links(practice_id).where(
        AccountLink.relationship != "self",
        Patient.date_of_birth <= years_before(today, settings.review_age),
    )
    for link, account, patient in session.execute(query):
        linked_on = local_today(zone, link.created_at)
        then = age_on(patient.date_of_birth, linked_on)
        now = age_on(patient.date_of_birth, today)
        if then < ADULT_AGE <= now:
            items.append(
                _item(
                    "turned_18",
                    account,
                    f"Linked at {then}, now {now}: proxy access ends at 18 unless renewed.",
                    link,
                    patient,
                )
            )
        elif then < settings.review_age <= now:
            items.append(
                _item(
                    "review_age",
                    account,
                    f"Linked at {then}, now {now} (review age {settings.review_age}): "
                    "confidential adolescent care.",
                    link,
                    patient,
                )
            )
        elif then >= ADULT_AGE and link.relationship in DEPENDANT:
            items.append(
                _item(
                    "adult_dependant",
                    account,
                    f"Linked at {then} as a {link.relationship} of another adult.",
                    link,
                    patient,
                )
            )
    return items


def _many_patients(
    session: Session, practice_id: str, settings: ReviewSettings
) -> list[ReviewItem]:
    counts = (
        select(AccountLink.account_id, func.count().label("links"))
        .where(AccountLink.practice_id == practice_id, AccountLink.revoked_at.is_(None))
        .group_by(AccountLink.account_id)
        .having(func.count() >= settings.many_patients)
        .subquery()
    )
    rows = session.execute(
        select(PatientAccount, counts.c.links).join(
            counts, counts.c.account_id == PatientAccount.id
        )
    )
    return [
        _item("many_patients", account, f"Linked to {links} patients of this practice.")
        for account, links in rows
    ]


def _revoked_codes(session: Session, practice_id: str) -> list[ReviewItem]:
    query = (
        _active_links(practice_id)
        .add_columns(SecurityCode.revoked_at)
        .join(SecurityCode, SecurityCode.id == AccountLink.security_code_id)
        .where(SecurityCode.revoked_at.is_not(None))
    )
    return [
        _item(
            "code_revoked",
            account,
            f"Linked with security code {code_hint(session, link)}, which staff revoked "
            f"{revoked:%Y-%m-%d}.",
            link,
            patient,
        )
        for link, account, patient, revoked in session.execute(query)
    ]


def code_hint(session: Session, link: AccountLink) -> str:
    code = session.get(SecurityCode, link.security_code_id) if link.security_code_id else None
    return "" if code is None else code.hint


def _unused(
    session: Session, practice_id: str, settings: ReviewSettings, now: datetime
) -> tuple[list[ReviewItem], int]:
    """Accounts with an active link here not signed in for `unused_days` (never signed in:
    counted from when the account was made). Can be many: counted in SQL, the longest unused
    read up to the list's cap."""
    cutoff = now - timedelta(days=settings.unused_days)
    last_seen = func.coalesce(PatientAccount.last_sign_in_at, PatientAccount.created_at)
    linked_here = (
        select(AccountLink.id)
        .where(
            AccountLink.account_id == PatientAccount.id,
            AccountLink.practice_id == practice_id,
            AccountLink.revoked_at.is_(None),
        )
        .exists()
    )
    where = (linked_here, last_seen < cutoff)
    total = session.scalar(select(func.count()).select_from(PatientAccount).where(*where)) or 0
    rows = session.scalars(
        select(PatientAccount).where(*where).order_by(last_seen).limit(MAX_REVIEW_ITEMS)
    )
    items = []
    for account in rows:
        seen = account.last_sign_in_at
        when = f"last signed in {seen:%Y-%m-%d}" if seen else "never signed in"
        items.append(
            _item("unused", account, f"Not used for over {settings.unused_days} days ({when}).")
        )
    return items, total


def review(session: Session, practice_id: str, now: datetime) -> ReviewList:
    settings = read_settings(session, practice_id)
    practice = session.get(Practice, practice_id)
    zone = practice.timezone if practice is not None else "UTC"
    today = local_today(zone, now)
    unused, unused_total = _unused(session, practice_id, settings, now)
    items = [
        *_age_rules(session, practice_id, settings, today, zone),
        *_many_patients(session, practice_id, settings),
        *_revoked_codes(session, practice_id),
    ]
    total = len(items) + unused_total
    # Link-level findings first (each asks for a decision about one patient), then accounts.
    items.sort(key=lambda item: (_RULE_ORDER[item.rule], item.account_name.casefold()))
    items += unused
    return ReviewList(items=items[:MAX_REVIEW_ITEMS], total=total, settings=settings, as_of=now)


_RULE_ORDER = {
    "turned_18": 0,
    "review_age": 1,
    "adult_dependant": 2,
    "code_revoked": 3,
    "many_patients": 4,
    "unused": 5,
}
