"""The store's tables and feed appliers are listed explicitly, not collected by import side effects."""

from __future__ import annotations

from visitdesk.desktop.models import feed, tables


def test_every_table_is_listed_once_and_makes_the_metadata() -> None:
    names = [entity.__tablename__ for entity in tables.TABLES]
    assert len(names) == len(set(names))
    assert set(names) == set(tables.METADATA.tables)


def test_feed_kinds_are_applied_in_the_listed_order() -> None:
    # Records that others refer to come first; the order is the list, whatever was imported first.
    kinds = [kind for kind, _ in feed.APPLIERS]
    assert kinds == [
        "patient",
        "appointment",
        "checkin",
        "arrival_attempt",
        "checkin_settings",
        "ledger_line",
        "payment",
        "security_code",
        "registration",
        "demographic_change",
        "insurance",
        "thread_message",
        "thread",
        "quick_texts",
    ]
