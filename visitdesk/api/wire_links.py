"""Wire models of the office manager's linked-accounts audit: the paged list of links, the review
rules and their settings, revoking a link, locking and unlocking a portal account.

A link says who the patient is to the account holder (`relationship`: self, child, spouse,
parent, dependent, other), how it was made (`method`) and which staff member allowed it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from visitdesk.api.wire import Wire

LinkMethod = Literal["security_code", "safe_health_code", "staff_match", ""]
LinkState = Literal["active", "revoked", "all"]
ReviewRule = Literal[
    "review_age", "turned_18", "adult_dependant", "many_patients", "code_revoked", "unused"
]

#: Most rows one page of the list carries.
MAX_LINK_PAGE = 500
#: Most items the review list carries (the count says how many there are in all).
MAX_REVIEW_ITEMS = 5000

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class LinkRow(Wire):
    """One account-to-patient link with what the manager needs to judge it."""

    link_id: str
    account_id: str
    account_name: str
    account_login: str = Field(description="The account's email, else its username.")
    account_last_sign_in: datetime | None
    account_locked: bool
    patient_id: str
    patient_name: str
    mrn: str
    date_of_birth: date
    relationship: str
    method: LinkMethod = Field(description="How the link was made ('' when not recorded).")
    made_by: str = Field(description="The staff member who issued the code or matched.")
    linked_at: datetime
    revoked_at: datetime | None
    revoke_reason: str


class LinkPage(Wire):
    rows: list[LinkRow]
    next_cursor: str | None = Field(
        description="Pass as `after` for the next page; None on the last page."
    )


class ReviewSettings(Wire):
    """The practice's review rules; each threshold can be changed by a manager."""

    review_age: Annotated[int, Field(ge=10, le=17)] = Field(
        default=13, description="Age at which a minor's records become confidential to them."
    )
    many_patients: Annotated[int, Field(ge=2, le=100)] = Field(
        default=6, description="An account linked to this many patients or more is reviewed."
    )
    unused_days: Annotated[int, Field(ge=30, le=3650)] = Field(
        default=365, description="An account not signed in for this many days is reviewed."
    )


class ReviewItem(Wire):
    rule: ReviewRule
    account_id: str
    account_name: str
    account_login: str
    link_id: str | None = Field(description="The link concerned; None for account-wide rules.")
    patient_id: str | None
    patient_name: str
    detail: str = Field(description="Why it is listed, in words.")


class ReviewList(Wire):
    items: list[ReviewItem]
    total: int = Field(description="Items found; more than `items` holds when capped.")
    settings: ReviewSettings
    as_of: datetime


class LinkRevoke(Wire):
    reason: Reason


class AccountLock(Wire):
    reason: Reason


class AccountState(Wire):
    account_id: str
    locked: bool
    locked_at: datetime | None
