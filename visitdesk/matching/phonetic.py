"""A small phonetic key for names, used to block candidates and to call two spellings alike.

Soundex keeps the first letter as written (so Catherine and Kathryn never meet) and merges too much
elsewhere; full Double Metaphone is a few hundred rules. This is a reduction in between, written for
English and Spanish surnames as a US front desk hears them:

1. fold to the letters a-z (the caller passes an already normalised name);
2. rewrite spellings that sound alike, longest first: ``mc``/``mac`` at the start -> ``mk``;
   silent initial ``kn gn pn wr ps`` -> ``n n n r s``; ``sch`` -> ``sk``; ``ph`` -> ``f``;
   ``ch sh`` -> ``x``; ``th`` -> ``0``; ``ck q`` -> ``k``; ``c`` before e/i/y -> ``s``, else ``k``;
   ``x`` -> ``ks``; ``z`` -> ``s``; ``v`` -> ``f``; ``dg`` -> ``j``; ``d`` -> ``t``; ``gh`` silent;
3. keep the first letter's sound (vowels all become ``a``), then drop vowels, ``h``, ``w`` and ``y``;
4. collapse runs of the same code and keep at most six codes.

Examples: Smith, Smyth -> ``sm0``; Catherine, Kathryn -> ``k0rn``; Hernández, Hernandes ->
``hrnts``; McDonald, MacDonald -> ``mktnlt``; Philips, Fillips -> ``flps``. Equal keys mean "may
sound alike", never "same name": scoring still compares spellings.
"""

from __future__ import annotations

import re

# Rules consume lower-case letters and emit upper-case codes, so that a code is never rewritten
# again by a later rule (sh -> X must not become k-s through the x rule).
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^ma?c(?=[a-z]{3})", "MK"),
        (r"^(?:kn|gn|pn)", "N"),
        (r"^wr", "R"),
        (r"^ps", "S"),
        (r"^x", "S"),
        (r"sch", "SK"),
        (r"ph", "F"),
        (r"t?[cs]h", "X"),
        (r"th", "0"),
        (r"gh", ""),
        (r"ck", "K"),
        (r"c(?=[eiy])", "S"),
        (r"[cq]", "K"),
        (r"x", "KS"),
        (r"z", "S"),
        (r"v", "F"),
        (r"dg", "J"),
        (r"d", "T"),
    )
)
_VOWELS = frozenset("aeiou")
_SILENT = frozenset("aeiouhwy")
MAX_LENGTH = 6


def phonetic_key(name: str) -> str:
    """The phonetic key of a name already folded to lower-case letters; "" for an empty name."""
    text = "".join(ch for ch in name if "a" <= ch <= "z")
    if not text:
        return ""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = text.lower()
    if not text:
        return ""
    head = "a" if text[0] in _VOWELS else text[0]
    codes = [head]
    previous = text[0]
    for ch in text[1:]:
        if ch not in _SILENT and ch != previous and ch != codes[-1]:
            codes.append(ch)
        previous = ch
    return "".join(codes[:MAX_LENGTH])
