"""Nynorsk word forms read as bokmål: one Norwegian for the classifiers.

Nynorsk is the smallest part of the corpus (68 conversations against 126 in bokmål), and the same agent turn
got other labels when written "Eg sjekkar det no" instead of "Jeg sjekker det nå": the robustness check's
bokmål->nynorsk swap changed 7.7 % of turn labels, and nn was the language most often out of line with the
others on the parallel set. Reading nynorsk's forms as their bokmål equivalents lets the heads use what they
learnt from both, for a word-for-word table of forms that say the same in the same place (``nynorsk.toml``).

Forms that are no bokmål word ("ikkje", "kva", "eg") are read so in nb turns too, where chat writers use them;
forms that are also another word ("no", "me", "då") only in turns identified as nynorsk. Case is kept: "Ikkje"
reads "Ikke", "IKKJE" "IKKE". Adjectives in -leg ("kjedeleg", "ubehageleg") read as -lig by their ending.
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Mapping

# Letters only, so "eg." and "ikkje," match and "e-post" or "kva-e" do not.
_WORD = re.compile(r"(?<![\w-])[^\W\d_]{2,20}(?![\w-])")


@lru_cache(maxsize=1)
def _data() -> dict:  # type: ignore[type-arg]
    return tomllib.loads(resources.files("samtaleanalyse.text").joinpath("nynorsk.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _tables() -> tuple[Mapping[str, str], Mapping[str, str]]:
    data = _data()
    both = {k.lower(): v for k, v in data["both"].items()}
    nn_only = {**both, **{k.lower(): v for k, v in data["nn_only"].items()}}
    return both, nn_only


@lru_cache(maxsize=1)
def _suffixes() -> tuple[int, tuple[tuple[str, str], ...]]:
    data = dict(_data()["suffixes"])
    min_stem = int(data.pop("min_stem"))
    # longest ending first, so "legast" is not taken for "-t" of "legt"
    return min_stem, tuple(sorted(data.items(), key=lambda kv: -len(kv[0])))


def bokmaal_form(word: str, language: str | None) -> str | None:
    """The bokmål form of nynorsk ``word`` (lower case) in a turn in ``language``, or None."""
    found = table(language).get(word)
    if found is not None:
        return found
    min_stem, endings = _suffixes()
    for ending, replacement in endings:
        if word.endswith(ending) and len(word) - len(ending) >= min_stem:
            return word[:-len(ending)] + replacement
    return None


@lru_cache(maxsize=1)
def _not_after() -> Mapping[str, frozenset[str]]:
    return {k.lower(): frozenset(w.lower() for w in v) for k, v in _data().get("not_after", {}).items()}


_PREVIOUS_WORD = re.compile(r"([^\W\d_]+)[ \t]+$")


def table(language: str | None) -> Mapping[str, str]:
    """Nynorsk form -> bokmål form for a turn in ``language``: empty outside nb and nn."""
    both, nn_only = _tables()
    return nn_only if language == "nn" else both if language == "nb" else {}


def _cased(form: str, word: str) -> str:
    if len(word) > 1 and word.isupper():
        return form.upper()
    return form[:1].upper() + form[1:] if word[:1].isupper() else form


def nynorsk_edits(text: str, language: str | None) -> list[tuple[int, int, str]]:
    """``(start, end, bokmål)`` for each nynorsk form in ``text``, a turn in ``language``."""
    if not table(language):
        return []
    edits = []
    for m in _WORD.finditer(text):
        word = m.group()
        bokmaal = bokmaal_form(word.lower(), language)
        blocked = _not_after().get(word.lower())
        if bokmaal is not None and blocked:
            prev = _PREVIOUS_WORD.search(text, max(0, m.start() - 40), m.start())
            if prev is not None and prev.group(1).lower() in blocked:
                bokmaal = None
        if bokmaal is not None:
            edits.append((m.start(), m.end(), _cased(bokmaal, word)))
    return edits
