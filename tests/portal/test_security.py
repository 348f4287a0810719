"""Access tokens and password hashing."""

from __future__ import annotations

import pytest

from tests.fixtures_portal import fast_hasher
from visitdesk.portal.web.security import Passwords, TokenError, TokenSigner


def test_token_round_trip_and_type_check() -> None:
    signer = TokenSigner(b"x" * 32)
    token = signer.issue("staff", "staff-1", 60, pid="p1", role="manager")
    claims = signer.verify(token, "staff")
    assert (claims["sub"], claims["pid"], claims["role"]) == ("staff-1", "p1", "manager")
    with pytest.raises(TokenError):
        signer.verify(token, "patient")


def test_tampered_or_foreign_tokens_are_rejected() -> None:
    signer = TokenSigner(b"x" * 32)
    token = signer.issue("staff", "staff-1", 60, role="billing")
    head, payload, signature = token.split(".")
    forged = TokenSigner(b"y" * 32).issue("staff", "staff-1", 60, role="manager")
    for bad in (
        f"{head}.{forged.split('.')[1]}.{signature}",
        forged,
        "garbage",
        f"{head}.{payload}.AAAA",
    ):
        with pytest.raises(TokenError) as info:
            signer.verify(bad, "staff")
        assert not info.value.expired


def test_expired_token_says_so() -> None:
    signer = TokenSigner(b"x" * 32)
    with pytest.raises(TokenError) as info:
        signer.verify(signer.issue("staff", "s", -1), "staff")
    assert info.value.expired


def test_passwords_verify_and_unknown_user_fails() -> None:
    passwords = Passwords(fast_hasher())
    stored = passwords.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse")
    assert not passwords.verify(stored, "wrong")
    assert not passwords.verify(None, "correct horse")
