"""myInfo changes: a patient submits, staff decide field by field, accepted values reach the
record.

Everything runs inside the caller's transaction. A submission and a decision each put a
``demographic_change`` item on the practice's feed (so every desk's queue shows it, or drops it)
and an event on the audit chain that names the fields but never their values. Accepted address,
phone and email values change the patient record (a ``patient`` item), accepted insurance values
the patient's insurance (an ``insurance`` item).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitdesk.api.text import hidden_characters
from visitdesk.api.wire_myinfo import (
    CARD_FIELDS,
    FIELD_LABELS,
    INSURANCE_FIELDS,
    RECORD_FIELDS,
    ChangeStatus,
    DemographicChangeDetail,
    DemographicChangeOut,
    DemographicChangeSubmit,
    DemographicDecision,
    FieldChange,
    InsuranceOut,
    PatientDemographicChange,
)
from visitdesk.portal.accounts.patient_side import display_name
from visitdesk.portal.myinfo.cards import claim_card
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.db import utcnow
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import AccountLink, Patient, PatientAccount, Practice
from visitdesk.portal.persistence.models_myinfo import (
    DemographicChange,
    DemographicChangeField,
    PatientInsurance,
)
from visitdesk.portal.persistence.out import patient_out
from visitdesk.portal.web.errors import Conflict, NotFound, Unprocessable

log = logging.getLogger(__name__)

KIND = "demographic_change"
INSURANCE_KIND = "insurance"


# --------------------------------------------------------------------------- wire forms


def _fields(session: Session, change_ids: Sequence[str]) -> dict[str, list[FieldChange]]:
    per_change: dict[str, list[FieldChange]] = {change_id: [] for change_id in change_ids}
    if not change_ids:
        return per_change
    rows = session.scalars(
        select(DemographicChangeField)
        .where(DemographicChangeField.change_id.in_(list(change_ids)))
        .order_by(DemographicChangeField.change_id, DemographicChangeField.position)
    )
    for row in rows:
        per_change[row.change_id].append(
            FieldChange(field=row.field, value=row.value, decision=row.decision)  # type: ignore[arg-type]
        )
    return per_change


def _change_out(
    row: DemographicChange, account_name: str, fields: list[FieldChange]
) -> DemographicChangeOut:
    return DemographicChangeOut(
        id=row.id,
        patient_id=row.patient_id,
        account_id=row.account_id,
        account_name=account_name,
        status=row.status,  # type: ignore[arg-type]
        submitted_at=row.submitted_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        fields=fields,
    )


def insurance_out(row: PatientInsurance) -> InsuranceOut:
    return InsuranceOut(
        patient_id=row.patient_id,
        payer=row.payer,
        member_id=row.member_id,
        group_number=row.group_number,
        subscriber=row.subscriber,
        relationship=row.relationship,
        card_front_image_id=row.card_front_image_id,
        card_back_image_id=row.card_back_image_id,
        updated_at=row.updated_at,
    )


def _account_name(session: Session, account_id: str) -> str:
    account = session.get(PatientAccount, account_id)
    return display_name(account) if account is not None else ""


# --------------------------------------------------------------------------- patient side


def _hidden_text_problem(values: dict[str, str]) -> str | None:
    """Invisible formatting or control characters in what the patient typed: refused, as in
    names, because they disguise what the desk shows beside them."""
    for name, value in values.items():
        if name in CARD_FIELDS:
            continue
        if found := hidden_characters(value):
            shown = ", ".join(dict.fromkeys(found))
            return (
                f"{FIELD_LABELS[name]} contains invisible formatting or control characters "
                f"({shown}); type it with visible characters only."
            )
    return None


def submit(
    session: Session, account_id: str, body: DemographicChangeSubmit
) -> PatientDemographicChange:
    """Queue a change of one of the account's linked patients for the practice's review."""
    linked = session.execute(
        select(Patient, Practice)
        .join(AccountLink, AccountLink.patient_id == Patient.id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(
            AccountLink.account_id == account_id,
            AccountLink.patient_id == body.patient_id,
            AccountLink.revoked_at.is_(None),
        )
    ).first()
    if linked is None:
        raise NotFound("No such patient on this account.")
    patient, practice = linked
    values = body.changes()
    if problem := _hidden_text_problem(values):
        raise Unprocessable(problem)
    images = [claim_card(session, account_id, values[name]) for name in CARD_FIELDS & set(values)]
    if len({image.id for image in images}) < len(images):
        raise Unprocessable("The front and the back of the card must be two different pictures.")
    row = DemographicChange(practice_id=practice.id, patient_id=patient.id, account_id=account_id)
    session.add(row)
    session.flush()
    for position, (name, value) in enumerate(values.items()):
        session.add(
            DemographicChangeField(change_id=row.id, field=name, position=position, value=value)
        )
    for image in images:
        image.practice_id = practice.id
        image.change_id = row.id
    session.flush()
    account_name = _account_name(session, account_id)
    audit.record(
        session,
        practice.id,
        audit.Actor("patient", account_id, account_name),
        "demographic_change.submitted",
        "demographic_change",
        row.id,
        patient_id=patient.id,
        details={"fields": list(values)},
    )
    fields = [FieldChange(field=name, value=value) for name, value in values.items()]  # type: ignore[arg-type]
    append_changes(
        session, practice.id, [NewChange.of(KIND, _change_out(row, account_name, fields), row.id)]
    )
    log.info("demographic change %s submitted", row.id)
    return PatientDemographicChange(
        id=row.id,
        patient_id=patient.id,
        practice_name=practice.name,
        status="pending",
        submitted_at=row.submitted_at,
        fields=fields,
    )


def account_changes(session: Session, account_id: str) -> list[PatientDemographicChange]:
    """The account's changes, newest first, each field with its outcome."""
    rows = session.execute(
        select(DemographicChange, Practice.name)
        .join(Practice, Practice.id == DemographicChange.practice_id)
        .where(DemographicChange.account_id == account_id)
        .order_by(DemographicChange.submitted_at.desc(), DemographicChange.id)
    ).all()
    fields = _fields(session, [row.id for row, _ in rows])
    return [
        PatientDemographicChange(
            id=row.id,
            patient_id=row.patient_id,
            practice_name=name,
            status=row.status,  # type: ignore[arg-type]
            submitted_at=row.submitted_at,
            decided_at=row.decided_at,
            fields=fields[row.id],
        )
        for row, name in rows
    ]


# --------------------------------------------------------------------------- staff side


def list_changes(
    session: Session, practice_id: str, status: ChangeStatus, limit: int
) -> list[DemographicChangeOut]:
    """Pending changes oldest first (the order they are worked), decided ones newest first."""
    order = (
        (DemographicChange.submitted_at, DemographicChange.id)
        if status == "pending"
        else (DemographicChange.decided_at.desc(), DemographicChange.id)
    )
    rows = session.execute(
        select(DemographicChange, PatientAccount)
        .join(PatientAccount, PatientAccount.id == DemographicChange.account_id)
        .where(DemographicChange.practice_id == practice_id, DemographicChange.status == status)
        .order_by(*order)
        .limit(limit)
    ).all()
    fields = _fields(session, [row.id for row, _ in rows])
    return [_change_out(row, display_name(account), fields[row.id]) for row, account in rows]


def _practice_change(
    session: Session, practice_id: str, change_id: str, *, lock: bool = False
) -> DemographicChange:
    query = select(DemographicChange).where(
        DemographicChange.id == change_id, DemographicChange.practice_id == practice_id
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("No such change in this practice.")
    return row


def on_record(session: Session, patient: Patient, names: Sequence[str]) -> dict[str, str]:
    """The record's current value of each field (insurance from the patient's insurance)."""
    insurance = session.get(PatientInsurance, patient.id)
    values: dict[str, str] = {}
    for name in names:
        if name in RECORD_FIELDS:
            values[name] = str(getattr(patient, name))
        else:
            values[name] = getattr(insurance, INSURANCE_FIELDS[name]) if insurance else ""
    return values


def detail(session: Session, practice_id: str, change_id: str) -> DemographicChangeDetail:
    row = _practice_change(session, practice_id, change_id)
    fields = _fields(session, [row.id])[row.id]
    patient = session.get(Patient, row.patient_id)
    assert patient is not None
    return DemographicChangeDetail(
        change=_change_out(row, _account_name(session, row.account_id), fields),
        on_record=on_record(session, patient, [f.field for f in fields]),
    )


def decide(
    session: Session,
    practice_id: str,
    actor: audit.Actor,
    change_id: str,
    body: DemographicDecision,
) -> DemographicChangeOut:
    """Accept or reject every field of a pending change; accepted values reach the record."""
    row = _practice_change(session, practice_id, change_id, lock=True)
    if row.status != "pending":
        raise Conflict("This change was already decided.")
    fields = list(
        session.scalars(
            select(DemographicChangeField)
            .where(DemographicChangeField.change_id == row.id)
            .order_by(DemographicChangeField.position)
        )
    )
    names = [f.field for f in fields]
    if set(body.decisions) != set(names):
        missing = [FIELD_LABELS[n] for n in names if n not in body.decisions]
        extra = [FIELD_LABELS[n] for n in body.decisions if n not in names]
        parts = []
        if missing:
            parts.append("not decided: " + ", ".join(missing))
        if extra:
            parts.append("not part of this change: " + ", ".join(extra))
        raise Unprocessable("Decide every field of the change (" + "; ".join(parts) + ").")
    patient = session.get(Patient, row.patient_id)
    assert patient is not None
    now = utcnow()
    record_changed = False
    insurance: PatientInsurance | None = None
    for f in fields:
        f.decision = body.decisions[f.field]  # type: ignore[index]
        if f.decision != "accepted":
            continue
        if f.field in RECORD_FIELDS:
            setattr(patient, f.field, f.value)
            record_changed = True
            continue
        if insurance is None:
            insurance = session.get(PatientInsurance, patient.id) or PatientInsurance(
                patient_id=patient.id, practice_id=practice_id
            )
            session.add(insurance)
        setattr(insurance, INSURANCE_FIELDS[f.field], f.value)
    row.status = "decided"
    row.decided_at = now
    row.decided_by = actor.name
    row.decided_by_staff_id = actor.id
    feed: list[NewChange] = []
    if record_changed:
        patient.updated_at = now
        session.flush()
        feed.append(NewChange.of("patient", patient_out(patient), patient.id))
    if insurance is not None:
        insurance.updated_at = now
        session.flush()
        feed.append(NewChange.of(INSURANCE_KIND, insurance_out(insurance), patient.id))
    session.flush()
    decided = [FieldChange(field=f.field, value=f.value, decision=f.decision) for f in fields]  # type: ignore[arg-type]
    out = _change_out(row, _account_name(session, row.account_id), decided)
    feed.append(NewChange.of(KIND, out, row.id))
    append_changes(session, practice_id, feed)
    audit.record(
        session,
        practice_id,
        actor,
        "demographic_change.decided",
        "demographic_change",
        row.id,
        patient_id=patient.id,
        details={
            "accepted": [f.field for f in fields if f.decision == "accepted"],
            "rejected": [f.field for f in fields if f.decision == "rejected"],
        },
    )
    log.info("demographic change %s decided", row.id)
    return out
