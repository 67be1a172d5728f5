"""Which characters text input may hold: one rule for every form field and API string.

PostgreSQL refuses NUL in text (a 500 ``DataError`` where SQLite stored it silently), and
no person types a control character: C0 controls (tab and line breaks only where the
field is multi-line), DEL and C1 controls are refused everywhere. Names (of a person, a
token, a place) also refuse what makes text read other than it is: bidi overrides and
isolates (U+202A-U+202E, U+2066-U+2069), direction marks (U+200E, U+200F) and zero-width
characters (U+200B-U+200D, U+FEFF).
"""
from __future__ import annotations

import re

CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # all but tab, line feed, carriage return
LINE_BREAKS = "\t\n\r"
INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"

KINDS = ("multiline", "line", "name")
_FORBIDDEN = {
    "multiline": re.compile(f"[{CONTROLS}]"),
    "line": re.compile(f"[{CONTROLS}{LINE_BREAKS}]"),
    "name": re.compile(f"[{CONTROLS}{LINE_BREAKS}{INVISIBLE}]"),
}


def forbidden(value: str, kind: str = "line") -> str | None:
    """The first character of ``value`` a ``kind`` of field refuses; None if none."""
    match = _FORBIDDEN[kind].search(value)
    return match.group() if match else None


def describe(char: str) -> str:
    """A refused character as people can read it: "U+0000"."""
    return f"U+{ord(char):04X}"


def is_invisible(char: str) -> bool:
    """Whether a refused character is one only names refuse (bidi or zero-width)."""
    return bool(re.fullmatch(f"[{INVISIBLE}]", char))
