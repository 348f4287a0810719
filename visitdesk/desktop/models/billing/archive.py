"""The statement archive: run history, the statements sent, and the hashes that prove a reprint
is the statement as it was sent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from visitdesk.desktop.models.billing.tables import Statement, StatementRun
from visitdesk.desktop.models.schema import Patient, table_of


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunSummary:
    id: int
    created_at: datetime
    created_by: str
    statement_date: date
    filters: dict[str, Any]
    statement_count: int
    total_cents: int
    combined_path: str


def runs(session: Session, limit: int = 200) -> list[RunSummary]:
    rows = session.scalars(select(StatementRun).order_by(StatementRun.id.desc()).limit(limit))
    return [
        RunSummary(
            r.id,
            r.created_at,
            r.created_by,
            r.statement_date,
            dict(r.filters),
            r.statement_count,
            r.total_cents,
            r.combined_path,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class StatementSummary:
    id: int
    run_id: int | None
    guarantor_mrn: str
    guarantor_name: str
    statement_date: date
    amount_due_cents: int
    page_count: int
    created_by: str


def statements(
    session: Session,
    *,
    run_id: int | None = None,
    guarantor_mrn: str | None = None,
    limit: int = 1000,
) -> list[StatementSummary]:
    patient = table_of(Patient)
    query = (
        select(Statement, patient.c.first_name, patient.c.last_name)
        .outerjoin(patient, patient.c.mrn == Statement.guarantor_mrn)
        .order_by(Statement.id.desc())
        .limit(limit)
    )
    if run_id is not None:
        query = query.where(Statement.run_id == run_id).order_by(None).order_by(Statement.id)
    if guarantor_mrn is not None:
        query = query.where(Statement.guarantor_mrn == guarantor_mrn)
    return [
        StatementSummary(
            s.id,
            s.run_id,
            s.guarantor_mrn,
            f"{last or ''}, {first or ''}".strip(", "),
            s.statement_date,
            s.amount_due_cents,
            s.page_count,
            s.created_by,
        )
        for s, first, last in session.execute(query)
    ]


def statement_row(session: Session, statement_id: int) -> Statement | None:
    return session.get(Statement, statement_id)


def run_row(session: Session, run_id: int) -> StatementRun | None:
    return session.get(StatementRun, run_id)


def record_run(
    session: Session,
    run: StatementRun,
    statements: list[dict[str, Any]],
) -> int:
    """Record a finished run and its statements (rows for `Statement`, without `run_id`)."""
    session.add(run)
    session.flush()
    for record in statements:
        record["run_id"] = run.id
    for start in range(0, len(statements), 2000):
        session.execute(insert(Statement), statements[start : start + 2000])
    return run.id


def record_statement(session: Session, statement: Statement) -> int:
    """Record one statement made on demand (no run); returns its id."""
    session.add(statement)
    session.flush()
    return statement.id
