"""Matching settings: declared once, with their defaults and what they mean."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatchSettings:
    #: A candidate scoring at least this is shown as a strong match, and auto-connect requires it
    #: besides the exact name and date of birth (about: name + date of birth + one contact field).
    auto_threshold: float = 36.0
    #: Below this a candidate is shown as weak: something other than chance must explain it.
    review_threshold: float = 15.0
    #: Jaro-Winkler similarity from which two spellings of a name count as close.
    close_threshold: float = 0.88
    #: Jaro-Winkler similarity from which two email addresses count as close.
    close_email_threshold: float = 0.93
    #: A blocking key shared by more records than this is skipped when ranking (a placeholder
    #: phone, a default date of birth): it would cost time and says nothing about identity.
    max_block_size: int = 1000
    #: Auto-connect also requires the phone or the email to agree exactly, so that a namesake born
    #: the same day (who is not a patient of the practice) is never connected to the record.
    auto_requires_contact: bool = True
    #: Two records scoring at least this against each other are flagged as a likely duplicate.
    duplicate_threshold: float = 36.0
