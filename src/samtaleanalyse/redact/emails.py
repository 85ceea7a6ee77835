"""E-mail addresses, written (kari.nordmann@example.no) or read out by a speech recogniser
("kari punktum nordmann alfakrøll gmail punktum com")."""
from __future__ import annotations

import re

from .spans import Candidate

_WRITTEN = re.compile(
    r"(?<![\w.+-])[\w.+-]*\w@\w[\w-]*(?:\.[\w-]+)*\.[^\W\d_]{2,24}(?![\w@])",
)
_DOT = r"(?:\s+(?:dot|punktum|prikk|punkt)\s+|\s*(?:\.|\(dot\)|\[dot\])\s*)"
_AT = r"(?:\s*(?:@|\(at\)|\[at\])\s*|\s+(?:at|alfakrøll|krøllalfa|snabel-?a|grisehale)\s+)"
# Spoken forms only end in a common top-level domain: "look at google dot com" stays.
_TLD = r"(?:com|no|se|dk|net|org|nu|io|eu|fi|is|de|uk|info|biz)"
_SPOKEN = re.compile(
    rf"(?<![\w.@-])\w[\w+-]*(?:{_DOT}\w[\w+-]*)*{_AT}\w[\w-]*(?:{_DOT}\w[\w-]*)*?{_DOT}{_TLD}(?![\w@])",
    re.IGNORECASE,
)


def find_emails(text: str) -> list[Candidate]:
    if "@" not in text and not _has_spoken_at(text):
        return []
    found = [Candidate(m.start(), m.end(), "email") for m in _WRITTEN.finditer(text)]
    for m in _SPOKEN.finditer(text):
        if not _plausible_spoken(m.group(0)):
            continue
        if not any(c.start < m.end() and m.start() < c.end for c in found):
            found.append(Candidate(m.start(), m.end(), "email"))
    return found


# "at" is also an English word ("look at google dot com"): with it, the address needs a dotted or numbered
# local part or a known mail provider.
_PROVIDERS = frozenset((
    "gmail", "googlemail", "hotmail", "outlook", "live", "msn", "yahoo", "icloud", "me", "proton", "protonmail",
    "online", "telia", "altibox", "getmail", "lyse", "mail", "aol", "jubii", "tdcadsl", "bredband", "spray",
))
_AT_WORD = re.compile(r"\s+at\s+", re.IGNORECASE)
_DOT_WORD = re.compile(_DOT, re.IGNORECASE)


def _plausible_spoken(found: str) -> bool:
    parts = _AT_WORD.split(found, maxsplit=1)
    if len(parts) == 1:
        return True
    local, domain = parts
    if _DOT_WORD.search(local) or any(ch.isdigit() or ch in "-_+" for ch in local):
        return True
    return _DOT_WORD.split(domain)[0].casefold() in _PROVIDERS


_SPOKEN_AT = re.compile(r"(?<!\w)(?:at|alfakrøll|krøllalfa|snabel-?a|grisehale)(?!\w)|\((?:at)\)|\[at\]", re.IGNORECASE)


def _has_spoken_at(text: str) -> bool:
    return _SPOKEN_AT.search(text) is not None
