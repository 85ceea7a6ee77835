"""Inter-annotator agreement: Cohen's kappa per label between two labellings of the same turns."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from ..labels import ATTITUDES, BEHAVIOURS
from .model import LabelledConversation


def cohen_kappa(a: Sequence[object], b: Sequence[object]) -> float:
    """Cohen's kappa of two equally long label sequences (1.0 when both are constant and equal)."""
    if len(a) != len(b) or not a:
        raise ValueError("kappa needs two non-empty sequences of the same length")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1 - expected)


def agreement(first: Sequence[LabelledConversation], second: Sequence[LabelledConversation]) -> dict[str, dict[str, float]]:
    """Kappa and raw agreement for attitude and each behaviour over the turns both labelled.

    Conversations are matched by id and turns by index; a conversation whose turn texts differ
    is an error, since the two annotators did not label the same thing.
    """
    by_id = {c.id: c for c in first}
    att_a: list[str] = []
    att_b: list[str] = []
    beh_a: list[frozenset[str]] = []
    beh_b: list[frozenset[str]] = []
    for c2 in second:
        c1 = by_id.get(c2.id)
        if c1 is None:
            continue
        if [t.turn.text for t in c1.turns] != [t.turn.text for t in c2.turns]:
            raise ValueError(f"conversation {c2.id}: the two files have different turns")
        for t1, t2 in zip(c1.turns, c2.turns):
            if t1.turn.role == "customer":
                att_a.append(t1.attitude or "")
                att_b.append(t2.attitude or "")
            elif t1.turn.role == "agent":
                beh_a.append(frozenset(t1.behaviours))
                beh_b.append(frozenset(t2.behaviours))
    out: dict[str, dict[str, float]] = {}
    if att_a:
        out["attitude"] = {"kappa": cohen_kappa(att_a, att_b), "agreement": _raw(att_a, att_b), "n": len(att_a)}
        for label in ATTITUDES:
            xa = [x == label for x in att_a]
            xb = [x == label for x in att_b]
            out[f"attitude={label}"] = {"kappa": cohen_kappa(xa, xb), "agreement": _raw(xa, xb), "n": sum(xa) + sum(xb)}
    for label in BEHAVIOURS:
        if beh_a:
            xa = [label in s for s in beh_a]
            xb = [label in s for s in beh_b]
            out[label] = {"kappa": cohen_kappa(xa, xb), "agreement": _raw(xa, xb), "n": sum(xa) + sum(xb)}
    return out


def _raw(a: Sequence[object], b: Sequence[object]) -> float:
    return sum(x == y for x, y in zip(a, b)) / len(a)
