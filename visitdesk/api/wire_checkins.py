"""Wire models of the check-in desk: desk check-ins, refused I'm Here attempts, the practice's
check-in settings."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from visitdesk.api.wire import AwareDatetime, StrictInt, Wire

#: A record id the desk makes up itself (a lowercase UUID).
DESK_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class DeskCheckInCreate(Wire):
    """The front desk checks a patient in: for an appointment on the schedule, or as a walk-in.
    The check-in's id (a lowercase UUID the desk chose) is in the path."""

    patient_id: RecordId
    appointment_id: RecordId | None = Field(
        default=None, description="Today's appointment; None for a walk-in."
    )


#: Why an I'm Here tap was turned away.
AttemptReason = Literal["too_early", "too_late", "no_appointment", "cancelled"]


class ArrivalAttemptOut(Wire):
    """An I'm Here tap the portal turned away; the desk sees it so nobody is left unseen."""

    id: str
    patient_id: str
    appointment_id: str | None = None
    attempted_at: AwareDatetime
    reason: AttemptReason


Minutes = Annotated[StrictInt, Field(ge=0, le=240)]


class CheckInSettings(Wire):
    """The practice's check-in rules; a manager changes them, every desk receives them."""

    opens_minutes_before: Minutes = Field(
        default=60, description="I'm Here is accepted from this many minutes before the start."
    )
    closes_minutes_after: Minutes = Field(
        default=30, description="... until this many minutes after the start."
    )
    no_show_grace_minutes: Annotated[StrictInt, Field(ge=5, le=240)] = Field(
        default=20,
        description="A patient not arrived this many minutes after the start may be marked a "
        "no-show (never before).",
    )
    wait_warning_minutes: Annotated[StrictInt, Field(ge=1, le=240)] = Field(
        default=10, description="A wait this long shows amber on the board."
    )
    wait_alert_minutes: Annotated[StrictInt, Field(ge=2, le=480)] = Field(
        default=20, description="A wait this long shows red on the board."
    )

    @model_validator(mode="after")
    def _alert_after_warning(self) -> Self:
        if self.wait_alert_minutes <= self.wait_warning_minutes:
            raise ValueError("the red threshold must be longer than the amber one")
        return self
