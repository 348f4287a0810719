"""The typing helper enters every character of a name, accents included, and fires the edits."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit

from tests.desktop.typing import type_text


def test_accented_names_are_typed_whole(qtbot):
    field = QLineEdit()
    qtbot.addWidget(field)
    edits: list[str] = []
    field.textEdited.connect(edits.append)
    type_text(qtbot, field, "Dvořák, Zoë")
    assert field.text() == "Dvořák, Zoë"
    assert edits[-1] == "Dvořák, Zoë"
    assert len(edits) == len("Dvořák, Zoë")
