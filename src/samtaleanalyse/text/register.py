"""Polite forms of address read as the plain ones: the classifiers should judge what an agent does, not
whether the company writes "De" or "du".

A Danish or Norwegian agent writing in the formal register ("Vi beklager at De har ventet") used to be
read as talking about a third party ("de", *they*), and "blame_shifting" appeared where there was none;
a Swedish agent writing "ni" got other labels than one writing "du". This step rewrites, in the text the
model reads only, the forms that are unambiguous:

- nb, da: "De", "Dem", "Deres" with a capital inside a sentence (lower-case "de", "dem", "deres" are
  *they*, *them*, *their*; at the start of a sentence a capital says nothing, so those stay);
- nn: "De" inside a sentence, and "Dykk", "Dykkar" (any case: *you*, *your*, singular polite or plural);
- sv: "ni", "er", "ert", "era" (any case, any place: *you* plural or polite, never anything else).

Plural "you" becomes singular: for what an agent does to the customer it is the same address. In
customers' turns the classifiers read only the capitalised forms (``classify.features.turn_reader``): a
customer's "ni" or "dykk" addresses the company, and reading it as "du" cost attitude on dev.
"""
from __future__ import annotations

import re
from typing import Mapping

# language -> polite form -> plain form; ``_ANYWHERE`` forms are rewritten at a sentence's start too.
_INSIDE: Mapping[str, Mapping[str, str]] = {
    "nb": {"De": "du", "Dem": "deg", "Deres": "din"},
    "da": {"De": "du", "Dem": "dig", "Deres": "din"},
    "nn": {"De": "du"},
    "sv": {},
}
_ANYWHERE: Mapping[str, Mapping[str, str]] = {
    "nb": {},
    "da": {},
    "nn": {"dykk": "deg", "dykkar": "din"},
    "sv": {"ni": "du", "ert": "ditt", "era": "dina"},
}
# Swedish "er" is *you* (object) or *your*: the possessive when a noun follows.
_SV_ER_OBJECT_BEFORE = frozenset(
    "i på om med för till från så nu idag imorgon snart igen tillbaka direkt senare också gärna redan "
    "och men att när innan efter via per hela en ett några lite mer det den de".split())
_WORD = re.compile(r"(?<![\w-])[^\W\d_]{2,6}(?![\w-])")
_NEXT_WORD = re.compile(r"\s+([^\W\d_]+)")
_SENTENCE_END = ".!?:;\n\"«»“”()[]-–—•*"


def _starts_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _cased(form: str, text: str, start: int) -> str:
    """``form`` with a capital where a sentence starts (a polite capital inside one is not kept)."""
    return form[:1].upper() + form[1:] if text[start].isupper() and _starts_sentence(text, start) else form


def polite_edits(text: str, language: str | None, capitals_only: bool = False) -> list[tuple[int, int, str]]:
    """``(start, end, plain)`` for each polite form of address in ``text`` (a turn in ``language``); with
    ``capitals_only`` just the capitalised forms inside a sentence, which are never plural."""
    inside = _INSIDE.get(language or "", {})
    anywhere = {} if capitals_only else _ANYWHERE.get(language or "", {})
    swedish_er = language == "sv" and not capitals_only
    if not inside and not anywhere and not swedish_er:
        return []
    edits: list[tuple[int, int, str]] = []
    for m in _WORD.finditer(text):
        word = m.group()
        lower = word.lower()
        if word in inside and not _starts_sentence(text, m.start()):
            edits.append((m.start(), m.end(), inside[word]))
        elif lower in anywhere:
            edits.append((m.start(), m.end(), _cased(anywhere[lower], text, m.start())))
        elif swedish_er and lower == "er":
            nxt = _NEXT_WORD.match(text, m.end())
            possessive = nxt is not None and nxt.group(1).lower() not in _SV_ER_OBJECT_BEFORE
            edits.append((m.start(), m.end(), _cased("din" if possessive else "dig", text, m.start())))
    return edits
