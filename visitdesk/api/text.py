"""Text safety for anything a patient, a practice system or a CSV file typed.

A name can carry characters that print nothing but change how the text around them is shown: a
right-to-left override (U+202E) reverses the rest of the line ("born 03/01/1980" reads
"0891/10/30 nrob"), zero-width characters make two different names look identical, control
characters break lines or tables. None of them belongs in a person's name or address.

- `hidden_characters` finds them (Unicode categories Cc, Cf, Cs, and the line and paragraph
  separators);
- `strip_hidden` removes them (imports and PDFs: paper cannot show them anyway);
- `reveal` replaces each with a visible ``[U+202E]`` so staff see that something was there;
- `isolate` wraps one piece of text in first-strong isolate / pop directional isolate (U+2068,
  U+2069) after revealing what is inside, so even right-to-left text in a name cannot reorder the
  label, table cell or dialog line around it.

This module imports nothing of ours: the desk, the portal and the reports all use it.
"""

from __future__ import annotations

import unicodedata

FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"

#: Categories of characters that draw nothing in a name: controls, format characters (bidi
#: embeddings, overrides and isolates, zero-width spaces and joiners, soft hyphen, tags) and
#: surrogate halves that are not part of a character; plus line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def is_hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def hidden_characters(text: str) -> list[str]:
    """The invisible formatting and control characters in `text`, in order, each as ``U+XXXX``."""
    return [code_point(char) for char in text if is_hidden(char)]


def code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def strip_hidden(text: str, *, keep_newlines: bool = False) -> str:
    """`text` without its invisible formatting and control characters.

    With `keep_newlines`, line feeds stay (a multi-line message or address) and a carriage return
    before one goes.
    """
    if keep_newlines:
        text = text.replace("\r\n", "\n")
        return "".join(c for c in text if c == "\n" or not is_hidden(c))
    return "".join(c for c in text if not is_hidden(c))


def reveal(text: str) -> str:
    """`text` with each invisible character shown as ``[U+XXXX]``."""
    if not any(is_hidden(c) for c in text):
        return text
    return "".join(f"[{code_point(c)}]" if is_hidden(c) else c for c in text)


def isolate(text: str) -> str:
    """`text` revealed and wrapped in a directional isolate, for showing inside other text.

    An empty text stays empty, so an empty cell or label stays empty.
    """
    if not text:
        return text
    return f"{FIRST_STRONG_ISOLATE}{reveal(text)}{POP_DIRECTIONAL_ISOLATE}"


def unisolate(text: str) -> str:
    """The text `isolate` wrapped (for copying a cell as the person typed it, less the isolate)."""
    if text.startswith(FIRST_STRONG_ISOLATE) and text.endswith(POP_DIRECTIONAL_ISOLATE):
        return text[1:-1]
    return text
