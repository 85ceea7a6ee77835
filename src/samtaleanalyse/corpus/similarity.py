"""Near-duplicate conversations: word-trigram overlap of their whole text."""
from __future__ import annotations

import re
from itertools import combinations
from typing import Iterable, Sequence

from .model import LabelledConversation

NEAR_DUPLICATE_JACCARD = 0.5
_WORD = re.compile(r"\w+")


def shingles(conv: LabelledConversation, n: int = 3) -> frozenset[int]:
    words = _WORD.findall(" ".join(t.turn.text for t in conv.turns).casefold())
    return frozenset(hash(tuple(words[i:i + n])) for i in range(max(1, len(words) - n + 1)))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_duplicate_pairs(convs: Sequence[LabelledConversation], threshold: float = NEAR_DUPLICATE_JACCARD,
                         pairs: Iterable[tuple[int, int]] | None = None) -> list[tuple[int, int, float]]:
    """Index pairs whose trigram Jaccard is at least ``threshold``."""
    sh = [shingles(c) for c in convs]
    out = []
    for i, j in pairs if pairs is not None else combinations(range(len(convs)), 2):
        # Jaccard can reach the threshold only if the smaller set is large enough relative to the bigger one.
        small, big = sorted((len(sh[i]), len(sh[j])))
        if big and small / big < threshold:
            continue
        score = jaccard(sh[i], sh[j])
        if score >= threshold:
            out.append((i, j, score))
    return out
