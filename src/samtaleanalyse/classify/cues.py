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


def default_spec(blocks: Sequence[str] = BLOCKS) -> dict[str, Any]:
    return {"blocks": list(blocks), "lexicon": DEFAULT_LEXICON if {"lexicon", "context_lexicon"} & set(blocks) else {}}


def _content_stems(text: str) -> set[str]:
    return {w[:_STEM] for w in _WORD.findall(text.casefold()) if len(w) >= 4 and not w.isdigit()}


def _grams(text: str, n: int = 4) -> set[str]:
    t = " ".join(_WORD.findall(text.casefold()))
    return {t[i:i + n] for i in range(len(t) - n + 1)}


def _share(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a) if a else 0.0


def _cos(a: set[str], b: set[str]) -> float:
    return len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0


def _is_emoji(ch: str) -> bool:
    o = ord(ch)
    return 0x1F300 <= o <= 0x1FAFF or 0x2600 <= o <= 0x27BF


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
        for b in self.blocks:
            if b == "lexicon":
                parts.append(np.log1p(self.matcher.counts_many([i.text for i in inputs])))  # type: ignore[union-attr]
            elif b == "context_lexicon":
                parts.append(np.log1p(self.matcher.counts_many([i.context for i in inputs])))  # type: ignore[union-attr]
            elif b == "position":
                parts.append(np.array([self._position(i) for i in inputs], dtype=np.float32))
            elif b == "form":
                parts.append(np.array([self._form(i) for i in inputs], dtype=np.float32))
            elif b == "overlap":
                parts.append(np.array([self._overlap(i) for i in inputs], dtype=np.float32))
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
                float(bool(_DIGITS.search(text))), math.log1p(sum(1 for c in text if _is_emoji(c))),
                float(i.context.strip().endswith("?")), math.log1p(len(i.context))]

    @staticmethod
    def _overlap(i: Any) -> list[float]:
        t_words, c_words = _content_stems(i.text), _content_stems(i.context)
        history = getattr(i, "history", "") or i.context
        h_words = _content_stems(history)
        t_grams = _grams(i.text)
        nums_t, nums_h = set(_DIGITS.findall(i.text)), set(_DIGITS.findall(history))
        return [_share(t_words, c_words), _share(c_words, t_words), _cos(t_grams, _grams(i.context)),
                _share(t_words, h_words), _share(h_words, t_words), _cos(t_grams, _grams(history)),
                float(bool(nums_t & nums_h)), math.log1p(len(t_words - h_words))]


def cue_features(inputs: Sequence[Any], cues: CueFeatures | None) -> np.ndarray:
    if cues is None:
        return np.zeros((len(inputs), 0), dtype=np.float32)
    return cues.transform(inputs)


__all__ = ["BLOCKS", "CueFeatures", "cue_features", "default_spec", "tokens"]
