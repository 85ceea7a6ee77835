"""Short, redacted, single-line quotes of untrusted input for error records."""
from __future__ import annotations

import unicodedata

from .api import redact_text
from .spans import Redacted

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
# Only this much of a long input is read: an error record quotes the start, and a 10 MB line must not cost
# seconds. The margin keeps a number cut at the window's edge out of the quote.
_WINDOW = 4
_MARGIN = 120


def excerpt(text: str, limit: int = 60, *, language: str = "en") -> str:
    """At most ``limit`` characters of ``text``: personal data replaced by placeholders, control and other
    invisible characters shown as escapes (``\\n``, ``\\x00``, ``\\u202e``), cut with "…" when longer."""
    if limit < 2:
        raise ValueError(f"excerpt limit must be at least 2, not {limit}.")
    window = _WINDOW * limit + _MARGIN
    head = text[:window]
    redacted = redact_text(head, language=language)
    shown = redacted.text
    if len(text) > window:
        # Drop what lies near the cut: a phone number cut in half there is not recognised.
        shown = shown[:redacted.map_offset(window - _MARGIN)]
    # Escape per character and keep each placeholder whole, so that the cut splits neither.
    units = _units(shown, redacted)
    if len(text) <= window and sum(map(len, units)) <= limit:
        return "".join(units)
    pieces: list[str] = []
    size = 0
    for unit in units:
        if size + len(unit) > limit - 1:  # one place for the ellipsis
            break
        pieces.append(unit)
        size += len(unit)
    return "".join(pieces).rstrip() + "…"


def _units(shown: str, redacted: Redacted) -> list[str]:
    """The shown text as indivisible pieces: each placeholder whole, each character escaped if need be."""
    bounds = dict(redacted.placeholder_spans())
    units: list[str] = []
    i = 0
    while i < len(shown):
        if i in bounds:
            end = min(bounds[i], len(shown))
            units.append(shown[i:end])
            i = end
            continue
        units.append(_escape(shown[i]))
        i += 1
    return units


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return ch
