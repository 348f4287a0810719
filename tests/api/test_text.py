"""Text safety: hidden characters found, stripped, revealed, and patient text isolated."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visitdesk.api import text

HOSTILE = [
    "\u202e",  # right-to-left override
    "\u202d",  # left-to-right override
    "\u202a",  # left-to-right embedding
    "\u202c",  # pop directional formatting
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\x00",
    "\x1b",
    "\n",
    "\x85",  # C1 next line
    "\u2028",  # line separator
    "\ud800",  # a lone surrogate
    "\U000e0041",  # tag letter A
]


@pytest.mark.parametrize("char", HOSTILE)
def test_every_invisible_character_is_found_stripped_and_revealed(char: str) -> None:
    name = f"Ann{char}Lee"
    assert text.hidden_characters(name) == [f"U+{ord(char):04X}"]
    assert text.strip_hidden(name) == "AnnLee"
    assert text.reveal(name) == f"Ann[U+{ord(char):04X}]Lee"


@pytest.mark.parametrize(
    "name", ["Nguyễn", "Wałęsa", "Şükrü Çağlar", "Dvořák", "O'Brien-Smith", "李"]
)
def test_real_names_are_left_alone(name: str) -> None:
    assert text.hidden_characters(name) == []
    assert text.strip_hidden(name) == name
    assert text.reveal(name) == name
    assert text.isolate(name) == f"\u2068{name}\u2069"
    assert text.unisolate(text.isolate(name)) == name


def test_newlines_stay_in_multi_line_text_when_asked() -> None:
    assert text.strip_hidden("12 Main St\r\nApt\u202e 4", keep_newlines=True) == "12 Main St\nApt 4"


def test_an_override_inside_an_isolate_cannot_escape_it() -> None:
    shown = text.isolate("Eve\u2069\u202enrob")
    # Exactly one isolate opens and closes, around the whole name; nothing inside is a control.
    inner = shown[1:-1]
    assert shown[0] == "\u2068" and shown[-1] == "\u2069"
    assert text.hidden_characters(inner) == []
    assert "[U+202E]" in inner and "[U+2069]" in inner


def test_empty_text_stays_empty() -> None:
    assert text.isolate("") == ""


@given(st.text())
def test_stripped_text_has_nothing_hidden_and_isolated_text_has_one_isolate(value: str) -> None:
    assert text.hidden_characters(text.strip_hidden(value)) == []
    if value:
        inner = text.isolate(value)[1:-1]
        assert text.hidden_characters(inner) == []


def test_the_module_imports_nothing_of_ours() -> None:
    tree = ast.parse(Path(text.__file__).read_text(encoding="utf-8"))
    modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [m for m in modules if m.startswith("visitdesk")]
