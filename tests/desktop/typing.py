"""Typing into widgets in GUI tests, names with accents included."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit


def type_text(qtbot, field: QLineEdit, text: str) -> None:
    """Type `text` key by key; characters QTest has no key for are entered as input would be.

    QTest's key simulation knows only ASCII and aborts the process on anything else ("Zoë",
    "Łukasz", "Dvořák" are among the demo's patients), so those characters go in as text.
    """
    for char in text:
        if char.isascii():
            qtbot.keyClicks(field, char)
        else:
            field.insert(char)
