"""Access tokens and password hashing."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures_portal import fast_hasher
from tests.portal.helpers import wait_until
from visitdesk.portal.web.security import (
    HashingBusy,
    HashingGate,
    Passwords,
    TokenError,
    TokenSigner,
)


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


def test_hashing_gate_bounds_work_and_refuses_beyond_the_queue() -> None:
    gate = HashingGate(workers=1, queue=1, wait_seconds=5.0)
    passwords = Passwords(fast_hasher(), gate)
    stored = passwords.hash("correct horse")
    holding, release = threading.Event(), threading.Event()
    results: list[object] = []

    def hold_the_slot() -> None:
        with gate.slot():
            holding.set()
            release.wait(10)

    def queued_sign_in() -> None:
        results.append(passwords.verify(stored, "correct horse"))

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=queued_sign_in)
    waiter.start()
    assert wait_until(lambda: gate._admitted == 2)
    # Slot busy and queue full: known and unknown logins alike are refused at once, with a hint.
    for stored_hash in (stored, None):
        with pytest.raises(HashingBusy) as refused:
            passwords.verify(stored_hash, "guess")
        assert refused.value.status_code == 503
        assert int(refused.value.headers["Retry-After"]) >= 1
    # Sign-in asks before reading the database, and is refused the same way.
    with pytest.raises(HashingBusy):
        gate.refuse_if_full()
    release.set()
    holder.join(10)
    waiter.join(10)
    assert results == [True]  # the queued one ran once the slot was free
    gate.refuse_if_full()  # room again


def test_hashing_gate_gives_up_after_the_longest_wait() -> None:
    gate = HashingGate(workers=1, queue=5, wait_seconds=0.05)
    release = threading.Event()
    holding = threading.Event()

    def hold_the_slot() -> None:
        with gate.slot():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    assert holding.wait(10)
    with pytest.raises(HashingBusy):
        Passwords(fast_hasher(), gate).verify(None, "x")
    release.set()
    holder.join(10)
    assert gate._admitted == 0
