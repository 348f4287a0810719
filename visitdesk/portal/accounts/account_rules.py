"""Rules for patient accounts: password policy, security questions, name comparison."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

from visitdesk.api.text import hidden_characters
from visitdesk.api.wire_registration import SecurityQuestion

MIN_PASSWORD_LENGTH = 10

#: The fixed list a patient picks three from. Ids are stable: stored answers refer to them.
SECURITY_QUESTIONS: tuple[SecurityQuestion, ...] = tuple(
    SecurityQuestion(id=f"q{number:02d}", text=text)
    for number, text in enumerate(
        (
            "What was the name of your first pet?",
            "In what city were you born?",
            "What was the name of your elementary school?",
            "What is your oldest sibling's middle name?",
            "What was the make of your first car?",
            "In what city did your parents meet?",
            "What was your childhood nickname?",
            "What is the name of the street you grew up on?",
            "What was the first concert you attended?",
            "What was the name of your favorite teacher?",
            "What is your favorite book?",
            "In what town was your first job?",
        ),
        start=1,
    )
)
QUESTION_IDS = frozenset(question.id for question in SECURITY_QUESTIONS)


@cache
def common_passwords() -> frozenset[str]:
    text = (
        resources.files("visitdesk.portal.accounts")
        .joinpath("data/common-passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def password_problem(password: str, *, username: str | None, email: str | None) -> str | None:
    """Why ``password`` is not acceptable, in words for the patient; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
    if password.strip() != password or not password.strip():
        return "A password cannot start or end with a space."
    folded = password.casefold()
    if folded in common_passwords() or len(set(folded)) <= 2:
        return "This password is too common and easy to guess; choose another."
    for login in (username, email, email.split("@", 1)[0] if email else None):
        if login and folded == login.strip().casefold():
            return "Your password cannot be your username or email address."
    return None


_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def hidden_text_problem(**fields: str) -> str | None:
    """Why text a patient typed is refused: invisible formatting or control characters in it.

    A right-to-left override or a zero-width space in a name prints nothing but can reorder or
    disguise what the desk shows beside it (a date of birth reading backwards in a match
    decision), so the portal refuses such names rather than store them.
    """
    for field_name, value in fields.items():
        if found := hidden_characters(value):
            shown = ", ".join(dict.fromkeys(found))
            return (
                f"{field_name} contains invisible formatting or control characters ({shown}); "
                "type the name with letters, spaces, hyphens and apostrophes only."
            )
    return None


def name_key(name: str) -> str:
    """A name for comparison: accents, case and extra spaces do not matter."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.translate(_APOSTROPHES)).strip().casefold()


def names_match(first: str, last: str, record_first: str, record_last: str) -> bool:
    return name_key(first) == name_key(record_first) and name_key(last) == name_key(record_last)


def answer_key(answer: str) -> str:
    """A security answer as hashed and checked: case and spacing do not matter."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", answer)).strip().casefold()


def phone_digits(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-10:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    name, dot, tld = domain.rpartition(".")
    masked_domain = f"{name[:1]}\u2022\u2022\u2022{dot}{tld}" if name else domain
    return f"{local[:1]}\u2022\u2022\u2022@{masked_domain}"


def mask_phone(phone: str) -> str:
    digits = phone_digits(phone)
    return f"\u2022\u2022\u2022-\u2022\u2022\u2022-\u2022\u2022{digits[-2:]}"
