"""Wire models of account upkeep: password changes, recovery, sign-out, staff password resets."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from visitdesk.api.wire import Wire
from visitdesk.api.wire_registration import (
    Email,
    EnteredCode,
    Password,
    PracticeCode,
    SecurityAnswer,
    SecurityQuestion,
)

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ResetToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=16, max_length=128)]


class PasswordChange(Wire):
    """Change one's own password: the current one proves it is the account's owner."""

    current_password: Password
    new_password: Password


class ForgotPassword(Wire):
    email: Email


class RecoveryStarted(Wire):
    """The same answer whether or not the address or username has an account."""

    message: str


class PasswordReset(Wire):
    token: ResetToken = Field(description="From the password-reset email.")
    new_password: Password


class PasswordResetDone(Wire):
    message: str
    password_set: bool = Field(
        description="False when the address was only released from an account someone else "
        "registered with it: register with it afresh."
    )
    reclaimed: bool = Field(
        description="The address had never been confirmed: what its registrant linked to the "
        "account was removed, and the account belongs to the address's owner now."
    )


class RecoveryQuestionsRequest(Wire):
    username: Username


class RecoveryQuestions(Wire):
    questions: list[SecurityQuestion]


class RecoveryAnswers(Wire):
    username: Username
    answers: Annotated[list[SecurityAnswer], Field(min_length=3, max_length=3)]
    new_password: Password


class RecoveryWithCode(Wire):
    """When the questions fail: a fresh security code from the office, for the patient the
    account holder is (a "register" code of that record)."""

    practice_code: PracticeCode
    username: Username
    security_code: EnteredCode
    new_password: Password


class StaffPasswordChange(Wire):
    current_password: Password
    new_password: Password


class StaffPasswordReset(Wire):
    """What a manager reads out once: the one-time password, changed at the next sign-in."""

    staff_id: str
    one_time_password: str
