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

From normalisation 6 (``polite_start``), a capital "De" that starts a sentence reads as "du" too when
the writer addresses the reader politely (a capital "De", "Dem" or "Deres" inside a sentence of the same
turn, or of another turn of the same writer: ``writes_politely``) and a verb follows ("De har helt rett",
*you are quite right*); "Dem" and "Deres" at a sentence's start read as "deg" and "din" for such a
writer. "De to ukene" (*the two weeks*) stays: no verb follows. A polite writer's genuine *they* at a
sentence's start ("De har sendt feil pakke, sier lageret") is read as "du" too: the rule trades that
rarer case for the polite "De" of formal letters. Nynorsk needs the same evidence: its "de" is the plural
*you* ("Takk! De er best" to a team), which a customer writes to the company.

Plural "you" becomes singular: for what an agent does to the customer it is the same address. In
customers' turns the classifiers read only the capitalised forms (``classify.features.turn_reader``): a
customer's "ni" or "dykk" addresses the company, and reading it as "du" cost attitude on dev.
"""
from __future__ import annotations

import re
import unicodedata
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
# Verbs after which a sentence-initial "De" is the subject *you* (or *they*), not the article *the*.
_VERBS_AFTER_DE: Mapping[str, frozenset[str]] = {
    "nb": frozenset("har kan vil skal må får er blir ble bes bør burde kunne ville skulle hadde var fikk gis trenger "
                    "mottar finner ønsker betaler slipper ser vet husker kommer".split()),
    "da": frozenset("har kan vil skal må får er bliver blev bedes bør burde kunne ville skulle havde var fik gives "
                    "behøver modtager finder ønsker betaler slipper ser ved husker kommer".split()),
    "nn": frozenset("har kan vil skal må får er blir blei vart bør burde kunne ville skulle hadde var fekk treng "
                    "mottek finn ønskjer betaler slepp ser veit hugsar kjem".split()),
}
_AT_START: Mapping[str, Mapping[str, str]] = {
    "nb": {"Dem": "deg", "Deres": "din"},
    "da": {"Dem": "dig", "Deres": "din"},
    "nn": {},  # "dykk" and "dykkar" are read anywhere already
}
# Capitals inside a sentence that only a polite writer uses (writes_politely).
_POLITE_CAPITALS: Mapping[str, frozenset[str]] = {
    "nb": frozenset({"De", "Dem", "Deres"}),
    "da": frozenset({"De", "Dem", "Deres"}),
    "nn": frozenset({"De", "Dykk", "Dykkar"}),
}
# The languages whose writers can show a polite register (writes_politely can be true only in these).
POLITE_LANGUAGES: frozenset[str] = frozenset(_POLITE_CAPITALS)
# Swedish "er" is *you* (object) or *your*: the possessive when a noun follows.
_SV_ER_OBJECT_BEFORE = frozenset(
    "i på om med för till från så nu idag imorgon snart igen tillbaka direkt senare också gärna redan "
    "och men att när innan efter via per hela en ett några lite mer det den de".split())
_WORD = re.compile(r"(?<![\w-])[^\W\d_]{2,6}(?![\w-])")
_NEXT_WORD = re.compile(r"\s+([^\W\d_]+)")
_SENTENCE_END = ".!?:;\n\r\"«»“”„()[]-–—•*…>"


def _starts_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i].isspace() and text[i] not in "\n\r":
        i -= 1
    # an emoji or another symbol ends a chat sentence as a full stop does ("Takk 😊 De har ...")
    return i < 0 or text[i] in _SENTENCE_END or unicodedata.category(text[i]) == "So"


def _before_name(text: str, end: int) -> bool:
    """Whether a capitalised word follows: "De Grønne", "De Forenede Stater" are names, not address."""
    nxt = _NEXT_WORD.match(text, end)
    return nxt is not None and nxt.group(1)[:1].isupper()


def _cased(form: str, text: str, start: int) -> str:
    """``form`` with a capital where a sentence starts (a polite capital inside one is not kept)."""
    return form[:1].upper() + form[1:] if text[start].isupper() and _starts_sentence(text, start) else form


def writes_politely(text: str, language: str | None) -> bool:
    """Whether ``text`` addresses its reader with a form only the polite register has: a capital "De", "Dem"
    or "Deres" inside a sentence (nb, da; "De", "Dykk", "Dykkar" in nn). Lower-case nynorsk "dykk" is also
    the plural *you* a customer writes to the company, so it does not count."""
    polite = _POLITE_CAPITALS.get(language or "", frozenset())
    return any(m.group() in polite and not _starts_sentence(text, m.start()) and not _before_name(text, m.end())
               for m in _WORD.finditer(text))


def polite_edits(text: str, language: str | None, capitals_only: bool = False, polite_start: bool = False,
                 polite_writer: bool = False) -> list[tuple[int, int, str]]:
    """``(start, end, plain)`` for each polite form of address in ``text`` (a turn in ``language``); with
    ``capitals_only`` just the capitalised forms inside a sentence, which are never plural. With
    ``polite_start``, also the forms that start a sentence when the writer is polite (this turn, or
    ``polite_writer``: another of the writer's turns; see the module's note)."""
    inside = _INSIDE.get(language or "", {})
    anywhere = {} if capitals_only else _ANYWHERE.get(language or "", {})
    swedish_er = language == "sv" and not capitals_only
    if not inside and not anywhere and not swedish_er:
        return []
    at_start = polite_start and language in _VERBS_AFTER_DE and (polite_writer or writes_politely(text, language))
    edits: list[tuple[int, int, str]] = []
    for m in _WORD.finditer(text):
        word = m.group()
        lower = word.lower()
        starts = _starts_sentence(text, m.start())
        if word in inside and not starts and not _before_name(text, m.end()):
            edits.append((m.start(), m.end(), inside[word]))
        elif at_start and starts and word == "De":
            nxt = _NEXT_WORD.match(text, m.end())
            if nxt is not None and nxt.group(1).lower() in _VERBS_AFTER_DE[str(language)]:
                edits.append((m.start(), m.end(), "Du"))
        elif at_start and starts and word in _AT_START[str(language)]:
            edits.append((m.start(), m.end(), _cased(_AT_START[str(language)][word], text, m.start())))
        elif lower in anywhere:
            edits.append((m.start(), m.end(), _cased(anywhere[lower], text, m.start())))
        elif swedish_er and lower == "er":
            nxt = _NEXT_WORD.match(text, m.end())
            possessive = nxt is not None and nxt.group(1).lower() not in _SV_ER_OBJECT_BEFORE
            edits.append((m.start(), m.end(), _cased("din" if possessive else "dig", text, m.start())))
    return edits
