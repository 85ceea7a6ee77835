"""Rules of the annotation guidelines applied to the heads' labels, where the corpus has too few examples for
the heads to learn them.

A model names the rules its labels pass (``metadata.json``: ``tasks.behaviours.label_rules``), so a model
without them keeps its labels and its figures, and evaluation applies the same rules as the pipeline.

``negated_fault`` (GUIDELINES.md, the blame examples: "Det är inte vårt fel utan deras" is ``blame``, no
``apology``): the cue lexicon counts "vårt fel", "our fault", "vår feil" as owning the fault, and the heads then
read a denial as an apology. A turn whose every apology word is such a fault phrase with a negation right
before it ("det är inte vårt fel", "it isn't our fault") is not an apology.

``d8_sympathy`` (``data/annotated/GUIDELINES.md``, D8): "sorry to hear that", "leit å høre", "tråkigt att höra",
"ked af at høre" are ``empathy``, not ``apology``, even when what was heard is the company's failure; a turn
that also owns a failure ("sorry for the wait", "det er ikke godt nok av oss") gets both. The heads read
"sorry" and "ked af" as apology: the corpus has eight such turns against 236 apologies, and on real support
threads the formula opens most replies. So: a turn in which every apology word of the cue lexicon lies inside
such a formula, and which owns nothing in words the lexicon lacks ("not the experience we want"), is not an
apology; and a turn with the formula shows empathy.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from ..labels import BEHAVIOURS
from .lexicon import DEFAULT_LEXICON, LexiconMatcher

D8_SYMPATHY = "d8_sympathy"
NEGATED_FAULT = "negated_fault"
RULES = (D8_SYMPATHY, NEGATED_FAULT)
RULE_TASKS = {D8_SYMPATHY: "behaviours", NEGATED_FAULT: "behaviours"}
RULE_SUMMARIES = {
    D8_SYMPATHY: 'a "sorry to hear" formula is empathy, not an apology, unless the turn also owns a failure (D8)',
    NEGATED_FAULT: '"det är inte vårt fel", "it isn\'t our fault" deny the fault: no apology',
}

# The "... to hear" formulas of D8 in the five languages (nynorsk's "høyre"/"høyra", "lesa"; Danish and Swedish
# "læse"/"läsa"). "Sorry to see" counts too: the labelled support threads read it as D8's formula.
_SYMPATHY = re.compile(
    r"\b(?:(?:so |very |really |truly )?(?:sorry|sad) to (?:hear|read|see|learn)"
    r"|(?:leit|leitt|trist|synd|kjedelig|kjipt|trasig|beklager|lei(?: meg)? for) å (?:høre|høyre|høyra|lese|lesa)"
    r"|(?:ked af|ærgerligt|trist|kedeligt|øv|beklager|beklageligt|synd) at (?:høre|læse)"
    r"|(?:tråkigt|ledsen|synd|trist|beklagar) att (?:få )?(?:höra|läsa))\b", re.IGNORECASE)
# Owning a failure in words the cue lexicon's apology terms lack.
_OWNERSHIP = re.compile(
    r"\b(?:not|isn't|wasn't|is not|was not) (?:the experience|the level of service|the service|how|what) we"
    r" (?:would |'d )?(?:want|like|expect|aim)"
    r"|\bnot how it should (?:be|have been)|\bwe (?:messed|screwed) up|\bwe got (?:it|this|that) wrong"
    r"|\bikke (?:sådan|den oplevelse),? (?:vi|som vi) (?:vil|ønsker)|\bikke sådan,? det skal være"
    r"|\bikkj?e (?:slik|sånn|den opplevelsen|den opplevinga),? (?:vi|me|som vi|som me) (?:vil|ønsker|ønskjer)"
    r"|\bikkj?e (?:slik|sånn),? det skal (?:være|vere)"
    r"|\binte (?:så|den upplevelse),? (?:vi|som vi) (?:vill|önskar)|\binte som det ska vara", re.IGNORECASE)


# The apology lexicon's terms that own a fault in so many words (the ones a negation turns into a denial).
FAULT_TERMS = ("vår feil", "vår skyld", "vores fejl", "vores skyld", "vårt fel", "vår miss", "vores ansvar",
               "feil hos oss", "feil hjå oss", "feil frå vår side", "feil fra vår side", "fejl hos os", "fel hos oss",
               "fel från vår sida", "our mistake", "our fault", "our error", "on us", "on our side", "our end")
# A negation right before a fault phrase, with nothing but spaces between: "ikke vår feil" denies the fault,
# "Pakken kom ikke – vår feil" owns it.
_DENIAL = re.compile(r"\b(?:inte|icke|ej|ingen|ikke|ikkje|aldri|aldrig|not|never|no|\w+n't)\s+$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _apology_terms() -> LexiconMatcher:
    return LexiconMatcher({"apology": DEFAULT_LEXICON["apology"]})


@lru_cache(maxsize=1)
def _fault_terms() -> LexiconMatcher:
    return LexiconMatcher({"fault": [t for t in FAULT_TERMS if t in DEFAULT_LEXICON["apology"]]})


def _denied(text: str, a: int, b: int, faults: set[tuple[int, int]]) -> bool:
    return (a, b) in faults and _DENIAL.search(text[max(0, a - 30):a]) is not None


def _plain_apostrophes(text: str) -> str:
    """’ and ʼ as ', one character for one, so that "shouldn’t have" meets the lexicon's "shouldn't have"."""
    return text.replace("\u2019", "'").replace("\u02bc", "'")


def sympathy_formulas(text: str) -> list[tuple[int, int]]:
    """Where ``text`` says one of D8's "... to hear" formulas."""
    return [m.span() for m in _SYMPATHY.finditer(_plain_apostrophes(text))]


def _apology_excused(rules: Sequence[str], text: str, formulas: list[tuple[int, int]]) -> tuple[str, ...]:
    """The rules that together account for every apology word of ``text`` (none: it apologises). D8 counts a word
    inside one of ``formulas`` (its "... to hear" formulas), or none at all beside one; ``negated_fault`` a fault
    phrase denied."""
    text = _plain_apostrophes(text)
    if formulas and _OWNERSHIP.search(text):
        return ()
    faults = {(a, b) for a, b, _ in _fault_terms().spans(text)} if NEGATED_FAULT in rules else set()
    by: set[str] = {D8_SYMPATHY} if formulas else set()
    for a, b, _ in _apology_terms().spans(text):
        if any(a < e and s < b for s, e in formulas):
            by.add(D8_SYMPATHY)
        elif faults and _denied(text, a, b, faults):
            by.add(NEGATED_FAULT)
        else:
            return ()
    return tuple(r for r in RULES if r in by)


def apply_rules(rules: Sequence[str], task: str, labels: Sequence[str], text: str
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``labels`` of a turn reading ``text`` (as the model read it) after ``rules``; and the rules that changed
    them, for the turn's record."""
    active = [r for r in rules if RULE_TASKS.get(r) == task]
    if not active:
        return tuple(labels), ()
    out, changed = set(labels), set()
    formulas = sympathy_formulas(text) if D8_SYMPATHY in active else []
    if formulas and "empathy" not in out:
        out.add("empathy")
        changed.add(D8_SYMPATHY)
    if "apology" in out:
        excused = _apology_excused(active, text, formulas)
        if excused:
            out.discard("apology")
            changed.update(excused)
    return tuple(b for b in BEHAVIOURS if b in out), tuple(r for r in RULES if r in changed)


__all__ = ["D8_SYMPATHY", "FAULT_TERMS", "NEGATED_FAULT", "RULES", "RULE_SUMMARIES", "RULE_TASKS", "apply_rules",
           "sympathy_formulas"]
