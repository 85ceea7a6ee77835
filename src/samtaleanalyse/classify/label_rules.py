"""Rules of the annotation guidelines applied to the heads' labels, where the corpus has too few examples for
the heads to learn them.

A model names the rules its labels pass (``metadata.json``: ``tasks.behaviours.label_rules``), so a model
without them keeps its labels and its figures, and evaluation applies the same rules as the pipeline.

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
RULES = (D8_SYMPATHY,)
RULE_TASKS = {D8_SYMPATHY: "behaviours"}

# The "... to hear" formulas of D8 in the five languages (nynorsk's "høyre", Danish and Swedish "læse"/"läsa").
_SYMPATHY = re.compile(
    r"\b(?:(?:so |very |really |truly )?(?:sorry|sad) to (?:hear|read|see|learn)"
    r"|(?:leit|leitt|trist|synd|kjedelig|beklager|lei(?: meg)? for) å (?:høre|høyre|lese)"
    r"|(?:ked af|ærgerligt|trist|kedeligt|øv|beklager|synd) at (?:høre|læse)"
    r"|(?:tråkigt|ledsen|synd|trist|beklagar) att (?:höra|läsa))\b", re.IGNORECASE)
# Owning a failure in words the cue lexicon's apology terms lack.
_OWNERSHIP = re.compile(
    r"\bnot (?:the experience|how|what) we (?:would |'d )?(?:want|like|expect)"
    r"|\bikke (?:sådan|den oplevelse),? (?:vi|som vi) (?:vil|ønsker)"
    r"|\bikkj?e (?:slik|sånn|den opplevelsen),? (?:vi|me|som vi|som me) (?:vil|ønsker|ønskjer)"
    r"|\binte (?:så|den upplevelse),? (?:vi|som vi) (?:vill|önskar)", re.IGNORECASE)


@lru_cache(maxsize=1)
def _apology_terms() -> LexiconMatcher:
    return LexiconMatcher({"apology": DEFAULT_LEXICON["apology"]})


def sympathy_formulas(text: str) -> list[tuple[int, int]]:
    """Where ``text`` says one of D8's "... to hear" formulas."""
    return [m.span() for m in _SYMPATHY.finditer(text)]


def sympathy_only(text: str) -> bool:
    """Whether ``text`` says a "... to hear" formula and apologises only inside one (D8: not an apology)."""
    formulas = sympathy_formulas(text)
    if not formulas or _OWNERSHIP.search(text):
        return False
    return all(any(a < e and s < b for s, e in formulas) for a, b, _ in _apology_terms().spans(text))


def apply_rules(rules: Sequence[str], task: str, labels: Sequence[str], text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``labels`` of a turn reading ``text`` (as the model read it) after ``rules``; and the rules that changed
    them, for the turn's record."""
    out, changed = set(labels), []
    for rule in rules:
        if RULE_TASKS.get(rule) != task:
            continue
        if rule == D8_SYMPATHY and sympathy_formulas(text):
            before = set(out)
            if sympathy_only(text):
                out.discard("apology")
            out.add("empathy")
            if out != before:
                changed.append(rule)
    return tuple(b for b in BEHAVIOURS if b in out) if task == "behaviours" else tuple(labels), tuple(changed)


__all__ = ["D8_SYMPATHY", "RULES", "RULE_TASKS", "apply_rules", "sympathy_formulas", "sympathy_only"]
