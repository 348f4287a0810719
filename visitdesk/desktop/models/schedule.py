"""The check-in desk's day, read in SQL: today's schedule with each visit's state, the arrivals
list (check-ins and the I'm Here taps the portal turned away), and the practice's check-in
settings the feed brings.

Both lists are sorted and filtered (provider, location) by the database, so a day of 2,000
appointments loads in one query each; the Qt models only hold the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_checkins import ArrivalAttemptOut, CheckInSettings
from visitdesk.desktop.models import state
from visitdesk.desktop.models.bulk import bulk_insert, delete_where_in
from visitdesk.desktop.models.schema import Appointment, Base, CheckIn, Patient, table_of

#: Feed kinds this module writes.
ATTEMPT_KIND = "arrival_attempt"
SETTINGS_KIND = "checkin_settings"
#: Where the practice's check-in settings are kept (sync_state, JSON).
SETTINGS_KEY = "checkin_settings"

VisitState = Literal[
    "scheduled",
    "arrived_app",
    "arrived_desk",
    "acknowledged",
    "roomed",
    "done",
    "no_show",
    "cancelled",
]
#: Check-in statuses of a patient still in the waiting room.
WAITING = ("arrived", "acknowledged")


class ArrivalAttempt(Base):
    """An I'm Here tap the portal turned away; shown on the board until the patient is checked
    in."""

    __tablename__ = "arrival_attempts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[str | None] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(16))


@dataclass(frozen=True)
class BoardFilter:
    """The board's filters; None shows everyone."""

    provider: str | None = None
    location: str | None = None


NO_FILTER = BoardFilter()


@dataclass(frozen=True)
class ArrivalRow:
    """One line of the arrivals list: a check-in, or (kind "attempt") a turned-away tap, whose
    `status` is "attempt" and `reason` says why. Name fields are None for a patient not cached."""

    kind: Literal["checkin", "attempt"]
    id: str
    patient_id: str
    first_name: str | None
    last_name: str | None
    date_of_birth: date | None
    appointment_id: str | None
    appointment_starts_at: datetime | None
    provider: str | None
    location: str | None
    arrived_at: datetime
    status: str
    reason: str | None
    status_changed_at: datetime
    status_changed_by: str | None
    source: str


@dataclass(frozen=True)
class ScheduleRow:
    """One appointment of the day with its visit state and who last changed it, when."""

    key: int
    appointment_id: str | None
    patient_id: str | None
    first_name: str | None
    last_name: str | None
    starts_at: datetime
    provider: str
    location: str
    reason: str
    state: VisitState
    checkin_id: str | None
    changed_at: datetime | None
    changed_by: str | None

    @property
    def id(self) -> int:
        return self.key


@dataclass(frozen=True)
class Board:
    """Everything the Check-ins screen shows, read in one transaction."""

    arrivals: list[ArrivalRow]
    schedule: list[ScheduleRow]
    providers: list[str]
    locations: list[str]
    settings: CheckInSettings


# --------------------------------------------------------------------------- feed


def apply_arrival_attempts(session: Session, items: list[ChangeItem]) -> None:
    table = table_of(ArrivalAttempt)
    delete_where_in(session, table, "id", [i.id for i in items if i.op == "delete"])
    rows: list[dict[str, Any]] = []
    for item in items:
        if item.op != "upsert":
            continue
        out = ArrivalAttemptOut.model_validate(item.data)
        rows.append(
            {
                "id": item.id,
                "patient_id": out.patient_id,
                "appointment_id": out.appointment_id,
                "attempted_at": out.attempted_at,
                "reason": out.reason,
            }
        )
    bulk_insert(
        session,
        table,
        rows,
        conflict="id",
        update=("patient_id", "appointment_id", "attempted_at", "reason"),
    )


def apply_checkin_settings(session: Session, items: list[ChangeItem]) -> None:
    # One record per practice; the page's last item is already the newest.
    item = items[-1]
    if item.op == "upsert":
        settings = CheckInSettings.model_validate(item.data)
        state.put(session, SETTINGS_KEY, settings.model_dump_json())


def checkin_settings(session: Session) -> CheckInSettings:
    """The practice's check-in settings as the feed last said (defaults before it has)."""
    raw = state.get(session, SETTINGS_KEY)
    if raw is None:
        return CheckInSettings()
    try:
        return CheckInSettings.model_validate_json(raw)
    except ValidationError:
        return CheckInSettings()


def put_checkin_settings(session: Session, settings: CheckInSettings) -> None:
    state.put(session, SETTINGS_KEY, settings.model_dump_json())


# --------------------------------------------------------------------------- queries


Query = Select[*tuple[Any, ...]]


def _filtered(query: Query, board: BoardFilter) -> Query:
    if board.provider is not None:
        query = query.where(Appointment.provider == board.provider)
    if board.location is not None:
        query = query.where(Appointment.location == board.location)
    return query


def visit_state() -> ColumnElement[str]:
    """The visit's state from its (standing) check-in, else the appointment's own marks."""
    return case(
        (CheckIn.status == "done", "done"),
        (CheckIn.status == "roomed", "roomed"),
        (CheckIn.status == "acknowledged", "acknowledged"),
        (and_(CheckIn.status == "arrived", CheckIn.source == "desk"), "arrived_desk"),
        (CheckIn.status == "arrived", "arrived_app"),
        (Appointment.no_show_at.is_not(None), "no_show"),
        (Appointment.status == "cancelled", "cancelled"),
        else_="scheduled",
    )


def schedule(
    session: Session, start: datetime, end: datetime, board: BoardFilter = NO_FILTER
) -> list[ScheduleRow]:
    """The appointments starting in [start, end), in time order, with their visit states."""
    query: Query = (
        select(
            Appointment.id,
            Appointment.portal_id,
            Patient.portal_id,
            Patient.first_name,
            Patient.last_name,
            Appointment.starts_at,
            Appointment.provider,
            Appointment.location,
            Appointment.reason,
            visit_state(),
            CheckIn.id,
            func.coalesce(CheckIn.status_changed_at, Appointment.no_show_at),
            func.coalesce(CheckIn.status_changed_by, Appointment.no_show_by),
        )
        .outerjoin(Patient, Patient.mrn == Appointment.patient_mrn)
        .outerjoin(
            CheckIn,
            and_(CheckIn.appointment_id == Appointment.portal_id, CheckIn.status != "cancelled"),
        )
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .order_by(Appointment.starts_at, Patient.last_name, Patient.first_name, Appointment.id)
    )
    return [
        ScheduleRow(
            key=r[0],
            appointment_id=r[1],
            patient_id=r[2],
            first_name=r[3],
            last_name=r[4],
            starts_at=r[5],
            provider=r[6],
            location=r[7],
            reason=r[8],
            state=r[9],
            checkin_id=r[10],
            changed_at=r[11],
            changed_by=r[12],
        )
        for r in session.execute(_filtered(query, board))
    ]


def arrivals(
    session: Session, start: datetime, end: datetime, board: BoardFilter = NO_FILTER
) -> list[ArrivalRow]:
    """Today's check-ins and turned-away taps. Patients still waiting come first, the longest
    wait on top; then taps the portal turned away (until the patient is checked in); then
    roomed patients; then finished and cancelled visits."""
    checkin_rows: Query = (
        select(
            literal("checkin").label("kind"),
            CheckIn.id.label("id"),
            CheckIn.patient_id.label("patient_id"),
            Patient.first_name.label("first_name"),
            Patient.last_name.label("last_name"),
            Patient.date_of_birth.label("date_of_birth"),
            CheckIn.appointment_id.label("appointment_id"),
            Appointment.starts_at.label("starts_at"),
            Appointment.provider.label("provider"),
            Appointment.location.label("location"),
            CheckIn.arrived_at.label("arrived_at"),
            CheckIn.status.label("status"),
            cast(null(), String).label("reason"),
            CheckIn.status_changed_at.label("status_changed_at"),
            CheckIn.status_changed_by.label("status_changed_by"),
            CheckIn.source.label("source"),
            case((CheckIn.status.in_(WAITING), 0), (CheckIn.status == "roomed", 2), else_=3).label(
                "grp"
            ),
        )
        .outerjoin(Patient, Patient.portal_id == CheckIn.patient_id)
        .outerjoin(Appointment, Appointment.portal_id == CheckIn.appointment_id)
        .where(CheckIn.arrived_at >= start, CheckIn.arrived_at < end)
    )
    checkins = _filtered(checkin_rows, board)
    later = aliased(ArrivalAttempt)
    standing = aliased(CheckIn)
    attempt_rows: Query = (
        select(
            literal("attempt"),
            ArrivalAttempt.id,
            ArrivalAttempt.patient_id,
            Patient.first_name,
            Patient.last_name,
            Patient.date_of_birth,
            ArrivalAttempt.appointment_id,
            Appointment.starts_at,
            Appointment.provider,
            Appointment.location,
            ArrivalAttempt.attempted_at,
            literal("attempt"),
            ArrivalAttempt.reason,
            ArrivalAttempt.attempted_at,
            cast(null(), String),
            literal("app"),
            literal(1),
        )
        .outerjoin(Patient, Patient.portal_id == ArrivalAttempt.patient_id)
        .outerjoin(Appointment, Appointment.portal_id == ArrivalAttempt.appointment_id)
        .where(
            ArrivalAttempt.attempted_at >= start,
            ArrivalAttempt.attempted_at < end,
            # The patient's latest attempt only, and none once they are checked in.
            ~exists().where(
                later.patient_id == ArrivalAttempt.patient_id,
                later.attempted_at > ArrivalAttempt.attempted_at,
                later.attempted_at < end,
            ),
            ~exists().where(
                standing.patient_id == ArrivalAttempt.patient_id,
                standing.arrived_at >= start,
                standing.arrived_at < end,
                standing.status != "cancelled",
            ),
        )
    )
    attempts = _filtered(attempt_rows, board)
    both = union_all(checkins, attempts).subquery()
    query = select(both).order_by(both.c.grp, both.c.arrived_at, both.c.id)
    return [
        ArrivalRow(
            kind=r.kind,
            id=r.id,
            patient_id=r.patient_id,
            first_name=r.first_name,
            last_name=r.last_name,
            date_of_birth=r.date_of_birth,
            appointment_id=r.appointment_id,
            appointment_starts_at=r.starts_at,
            provider=r.provider,
            location=r.location,
            arrived_at=r.arrived_at,
            status=r.status,
            reason=r.reason,
            status_changed_at=r.status_changed_at,
            status_changed_by=r.status_changed_by,
            source=r.source,
        )
        for r in session.execute(query)
    ]


def choices(session: Session, start: datetime, end: datetime) -> tuple[list[str], list[str]]:
    """The providers and locations of the day's appointments, for the board's filters."""
    day = (Appointment.starts_at >= start, Appointment.starts_at < end)
    providers = session.scalars(
        select(Appointment.provider).where(*day).distinct().order_by(Appointment.provider)
    ).all()
    locations = session.scalars(
        select(Appointment.location)
        .where(*day, Appointment.location != "")
        .distinct()
        .order_by(Appointment.location)
    ).all()
    return list(providers), list(locations)


def load_board(
    session: Session, start: datetime, end: datetime, board: BoardFilter = NO_FILTER
) -> Board:
    providers, locations = choices(session, start, end)
    return Board(
        arrivals=arrivals(session, start, end, board),
        schedule=schedule(session, start, end, board),
        providers=providers,
        locations=locations,
        settings=checkin_settings(session),
    )
