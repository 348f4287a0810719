"""Quick texts in the local store: the portal's set replaces ours; a manager's save is queued."""

from __future__ import annotations

import pytest

from visitdesk.api.commands import WRITE_QUICK_TEXTS
from visitdesk.api.wire import ChangeItem
from visitdesk.api.wire_messages import DEFAULT_QUICK_TEXTS, MAX_QUICK_TEXTS, QuickTextSet
from visitdesk.desktop.models import LocalStore, quick_texts


def _titles(store: LocalStore) -> list[str]:
    with store.read() as session:
        return [t.title for t in quick_texts.quick_texts(session)]


def _item(seq: int, *titles: str) -> ChangeItem:
    texts = quick_texts.validated([(t, f"{t} for {{patient_first_name}}") for t in titles])
    return ChangeItem(
        seq=seq, kind=quick_texts.KIND, op="upsert", id="practice", data=texts.model_dump()
    )


def test_the_feeds_newest_set_replaces_the_defaults(store: LocalStore) -> None:
    assert _titles(store) == [t for t, _ in DEFAULT_QUICK_TEXTS]
    store.apply_changes([_item(1, "Old"), _item(2, "Parking", "Forms")], 2)
    assert _titles(store) == ["Parking", "Forms"]


def test_a_save_is_used_at_once_and_queued_for_the_portal(store: LocalStore) -> None:
    item = quick_texts.save(store, quick_texts.validated([("Parking", "Park behind us.")]))
    assert item.command == WRITE_QUICK_TEXTS.name and item.params == {}
    assert QuickTextSet.model_validate(item.body).texts[0].title == "Parking"
    assert _titles(store) == ["Parking"]


@pytest.mark.parametrize(
    ("texts", "words"),
    [
        ([("Hi", "Hi {first_name}")], "Unknown placeholder {first_name}"),
        ([("Hi", "Hi {patient_first_name")], "brace without its pair"),
        ([("Hi", "x" * 2_001)], "longer than 2,000 characters"),
        ([("Hi", "")], "needs a title and a text"),
        ([(f"T{n}", "Text") for n in range(MAX_QUICK_TEXTS + 1)], f"at most {MAX_QUICK_TEXTS}"),
    ],
)
def test_what_the_portal_would_refuse_is_said_in_words(
    texts: list[tuple[str, str]], words: str
) -> None:
    with pytest.raises(ValueError, match=words.replace("{", r"\{").replace("}", r"\}")):
        quick_texts.validated(texts)
