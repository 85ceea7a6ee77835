"""Hand-made cue features of a turn: lexicon hits, position, form, and overlap with the other party.

Embeddings and character n-grams see one turn's text. Some labels hinge on what they do not
show: a paraphrase restates the customer's words (overlap with the customer's earlier turns), a
first agent turn tends to apologise, a question ends in "?", a threat is written in capitals.
These few dozen numbers add that evidence; the heads weigh them.

The spec (which blocks, which lexicon) is stored in the model's metadata, so inference computes
exactly the features the model was trained on. Everything here is numpy and the standard library.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import numpy as np

from .lexicon import DEFAULT_LEXICON, LexiconMatcher, tokens

BLOCKS = ("lexicon", "context_lexicon", "position", "form", "overlap")
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
_STEM = 5  # words are compared by their first five letters: "forsinket" ~ "forsinkelsen"
_GRAM = 4  # the overlap block's character n-grams


def default_spec(blocks: Sequence[str] = BLOCKS) -> dict[str, Any]:
    return {"blocks": list(blocks), "lexicon": DEFAULT_LEXICON if {"lexicon", "context_lexicon"} & set(blocks) else {}}


def _content_stems(text: str) -> set[str]:
    return {w[:_STEM] for w in _WORD.findall(text.casefold()) if len(w) >= 4 and not w.isdigit()}


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _string_grams(t: str, n: int = _GRAM) -> set[str]:
    return {t[i:i + n] for i in range(len(t) - n + 1)}


class _Facts:
    """What the overlap block reads of one text, worked out once per ``transform``: a turn comes back as the
    next turns' context and, line by line, in their history."""

    __slots__ = ("stems", "words", "grams", "numbers")

    def __init__(self, text: str) -> None:
        self.stems = _content_stems(text)
        self.words = _words(text)
        self.grams = _string_grams(self.words)
        self.numbers = set(_DIGITS.findall(text))


class _FactBook(dict[str, _Facts]):
    """Text -> its ``_Facts``; the sets handed out are the book's own, read and never changed."""

    def __missing__(self, text: str) -> _Facts:
        facts = self[text] = _Facts(text)
        return facts

    def joined(self, text: str) -> tuple[set[str], set[str], set[str]]:
        """Stems, 4-grams and numbers of ``text`` from those of its lines: words, stems and numbers never span
        a line break, and the only 4-grams the lines do not have themselves span the space that joins two
        lines' words (the same sets the whole text's words, joined by spaces, give)."""
        lines = [self[line] for line in text.split("\n")]
        if len(lines) == 1:
            return lines[0].stems, lines[0].grams, lines[0].numbers
        strings = [f.words for f in lines if f.words]
        grams = set().union(*(f.grams for f in lines))
        t, pos = " ".join(strings), -1
        for s in strings[:-1]:
            pos += len(s) + 1  # the joining space
            grams.update(t[i:i + _GRAM] for i in range(max(0, pos - _GRAM + 1), min(pos, len(t) - _GRAM) + 1))
        return (set().union(*(f.stems for f in lines)), grams, set().union(*(f.numbers for f in lines)))


def _share(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a) if a else 0.0


def _cos(a: set[str], b: set[str]) -> float:
    return len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0


_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")


class CueFeatures:
    """``transform(inputs) -> (n, dim)`` float32 from a spec ``{"blocks": [...], "lexicon": {...}}``."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        blocks = list(spec.get("blocks", ()))
        unknown = set(blocks) - set(BLOCKS)
        if unknown:
            raise ValueError(f"unknown cue block(s) {sorted(unknown)}; known: {list(BLOCKS)}")
        self.blocks = [b for b in BLOCKS if b in blocks]
        self.lexicon = {k: list(v) for k, v in spec.get("lexicon", {}).items()}
        self.matcher = LexiconMatcher(self.lexicon) if self.lexicon else None
        self.names = self._names()

    @property
    def spec(self) -> dict[str, Any]:
        return {"blocks": list(self.blocks), "lexicon": self.lexicon}

    @property
    def dim(self) -> int:
        return len(self.names)

    def _names(self) -> list[str]:
        cats = list(self.matcher.categories) if self.matcher else []
        names: list[str] = []
        for b in self.blocks:
            if b == "lexicon":
                names += [f"lex:{c}" for c in cats]
            elif b == "context_lexicon":
                names += [f"ctx_lex:{c}" for c in cats]
            elif b == "position":
                names += ["pos:relative", "pos:first_of_role", "pos:role_turn", "pos:last", "pos:opening",
                          "pos:no_context"]
            elif b == "form":
                names += ["form:questions", "form:ends_question", "form:exclaims", "form:caps", "form:chars",
                          "form:words", "form:sentences", "form:digits", "form:emoji", "form:ctx_question",
                          "form:ctx_chars"]
            elif b == "overlap":
                names += ["ovl:ctx_words", "ovl:ctx_words_rev", "ovl:ctx_chars", "ovl:hist_words",
                          "ovl:hist_words_rev", "ovl:hist_chars", "ovl:numbers", "ovl:new_words"]
        return names

    def transform(self, inputs: Sequence[Any]) -> np.ndarray:
        """Inputs are ``TurnInput``s (text, context, history, position, n_turns, role_position)."""
        if not inputs or not self.names:
            return np.zeros((len(inputs), len(self.names)), dtype=np.float32)
        parts = []
        counted: dict[str, np.ndarray] = {}  # a turn's text is the next turns' context: counted once
        for b in self.blocks:
            if b == "lexicon":
                parts.append(np.log1p(self.matcher.counts_many([i.text for i in inputs], counted)))  # type: ignore[union-attr]
            elif b == "context_lexicon":
                parts.append(np.log1p(self.matcher.counts_many([i.context for i in inputs], counted)))  # type: ignore[union-attr]
            elif b == "position":
                parts.append(np.array([self._position(i) for i in inputs], dtype=np.float32))
            elif b == "form":
                parts.append(np.array([self._form(i) for i in inputs], dtype=np.float32))
            elif b == "overlap":
                book = _FactBook()
                parts.append(np.array([self._overlap(i, book) for i in inputs], dtype=np.float32))
        return np.hstack(parts).astype(np.float32)

    @staticmethod
    def _position(i: Any) -> list[float]:
        n = max(int(getattr(i, "n_turns", 1)), 1)
        pos = int(getattr(i, "position", 0))
        rp = int(getattr(i, "role_position", 0))
        return [pos / max(n - 1, 1), float(rp == 0), math.log1p(rp), float(pos == n - 1), float(pos <= 1),
                float(not i.context)]

    @staticmethod
    def _form(i: Any) -> list[float]:
        text = i.text.strip()
        letters = [c for c in text if c.isalpha()]
        caps = sum(1 for c in letters if c.isupper()) / len(letters) if len(letters) >= 4 else 0.0
        words = _WORD.findall(text)
        sentences = max(1, len(re.findall(r"[.!?]+(?:\s|$)", text)))
        return [math.log1p(text.count("?")), float(text.endswith("?")), math.log1p(text.count("!")), caps,
                math.log1p(len(text)), math.log1p(len(words)), math.log1p(sentences),
                float(bool(_DIGITS.search(text))), math.log1p(len(_EMOJI.findall(text))),
                float(i.context.strip().endswith("?")), math.log1p(len(i.context))]

    @staticmethod
    def _overlap(i: Any, book: _FactBook | None = None) -> list[float]:
        book = _FactBook() if book is None else book
        t_words, t_grams, nums_t = book.joined(i.text)
        c_words, c_grams, _ = book.joined(i.context)
        h_words, h_grams, nums_h = book.joined(getattr(i, "history", "") or i.context)
        return [_share(t_words, c_words), _share(c_words, t_words), _cos(t_grams, c_grams),
                _share(t_words, h_words), _share(h_words, t_words), _cos(t_grams, h_grams),
                float(bool(nums_t & nums_h)), math.log1p(len(t_words - h_words))]


def cue_features(inputs: Sequence[Any], cues: CueFeatures | None) -> np.ndarray:
    if cues is None:
        return np.zeros((len(inputs), 0), dtype=np.float32)
    return cues.transform(inputs)


__all__ = ["BLOCKS", "CueFeatures", "cue_features", "default_spec", "tokens"]
