"""The practice's quick texts: reply templates a manager edits once for every workstation.

Kept as a practice setting (JSON). Each save replaces the whole set and appends one
``quick_texts`` feed item holding it, so every desk's composer offers the same templates.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from visitdesk.api.wire_messages import QuickTextSet
from visitdesk.portal.persistence import audit
from visitdesk.portal.persistence.feed import NewChange, append_changes
from visitdesk.portal.persistence.models import PracticeSetting

SETTINGS_KEY = "quick_texts"
FEED_KIND = "quick_texts"


def read(session: Session, practice_id: str) -> QuickTextSet:
    row = session.get(PracticeSetting, (practice_id, SETTINGS_KEY))
    if row is None:
        return QuickTextSet.defaults()
    return QuickTextSet.model_validate_json(row.value)


def write(
    session: Session, practice_id: str, actor: audit.Actor, texts: QuickTextSet
) -> QuickTextSet:
    value = texts.model_dump_json()
    row = session.get(PracticeSetting, (practice_id, SETTINGS_KEY))
    if row is None:
        session.add(PracticeSetting(practice_id=practice_id, key=SETTINGS_KEY, value=value))
    else:
        row.value = value
    append_changes(session, practice_id, [NewChange.of(FEED_KIND, texts, practice_id)])
    # Templates are the practice's words, not a patient's; the trail says only how many.
    audit.record(
        session,
        practice_id,
        actor,
        "settings.quick_texts",
        "practice",
        practice_id,
        details={"count": len(texts.texts)},
    )
    return texts
