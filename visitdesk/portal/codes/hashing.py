"""Security codes and Safe Health Codes: generation, normalisation and keyed hashing.

Security codes are 12 symbols from a 31-symbol alphabet without look-alikes (no 0/O, 1/I/L):
12 x log2(31) = 59.4 bits from :mod:`secrets`, printed in groups of four (``K7QM-3XHP-TW9R``).
Entry is case-insensitive and ignores dashes and spaces. Safe Health Codes are six digits.

Both are stored only as HMAC-SHA256 under keys derived from the portal secret, bound to their
context (the practice for a security code, the pending connect for a Safe Health Code), so a
leaked database alone cannot confirm a guess and the same code in two practices hashes apart.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets

#: Unambiguous when read aloud or handwritten: no 0, O, 1, I or L.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
GROUP = 4
CODE_BITS = CODE_LENGTH * math.log2(len(ALPHABET))
SAFE_HEALTH_DIGITS = 6

_SEPARATORS = str.maketrans("", "", "- \t\u2010\u2011\u2012\u2013\u2014")


class MalformedCode(ValueError):
    """The text cannot be a security code (wrong length or a symbol outside the alphabet)."""


def new_security_code() -> str:
    """A fresh code, normalised (12 symbols, no dashes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_security_code(entered: str) -> str:
    """Upper-case, without dashes or spaces; raises MalformedCode if it cannot be a code."""
    code = entered.translate(_SEPARATORS).upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise MalformedCode("a security code has 12 letters and digits")
    return code


def format_security_code(code: str) -> str:
    """``K7QM3XHPTW9R`` -> ``K7QM-3XHP-TW9R``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def security_code_hint(code: str) -> str:
    """The last group only, as the desk's list shows it."""
    return f"\u2022\u2022\u2022\u2022 {code[-GROUP:]}"


def new_safe_health_code() -> str:
    return f"{secrets.randbelow(10**SAFE_HEALTH_DIGITS):0{SAFE_HEALTH_DIGITS}d}"


def normalise_safe_health_code(entered: str) -> str | None:
    digits = entered.translate(_SEPARATORS)
    if len(digits) != SAFE_HEALTH_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


class CodeHasher:
    """Keyed hashes of codes; one key per kind of code, derived from the portal secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the portal secret must be at least 16 bytes")
        self._security_key = hashlib.sha256(b"visitdesk-security-code\x00" + secret).digest()
        self._safe_health_key = hashlib.sha256(b"visitdesk-safe-health-code\x00" + secret).digest()

    def security_code(self, practice_id: str, normalised: str) -> str:
        message = f"{practice_id}\x00{normalised}".encode()
        return hmac.new(self._security_key, message, hashlib.sha256).hexdigest()

    def safe_health_code(self, connect_id: str, digits: str) -> str:
        message = f"{connect_id}\x00{digits}".encode()
        return hmac.new(self._safe_health_key, message, hashlib.sha256).hexdigest()

    def safe_health_code_matches(self, connect_id: str, digits: str, stored: str) -> bool:
        return hmac.compare_digest(self.safe_health_code(connect_id, digits), stored)
