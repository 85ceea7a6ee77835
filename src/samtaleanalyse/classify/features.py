"""What a head sees of a turn: its meaning, the other party's previous turn, and its words.

Paraphrase and empathy are about what the customer just said, and an attitude often answers
the agent's last move, so every turn comes with the other party's previous turn as context.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from ..conversation import Conversation
from .lexical import CharNgramVectorizer, SparseRows


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class TurnInput:
    conversation_id: str
    turn_index: int
    role: str
    text: str
    context: str  # the other party's previous turn, "" at the start


def turn_inputs(conversation: Conversation, roles: frozenset[str] = frozenset({"customer", "agent"})) -> list[TurnInput]:
    out = []
    last: dict[str, str] = {}
    for t in conversation.turns:
        if t.role == "system":
            continue
        other = "agent" if t.role == "customer" else "customer"
        if t.role in roles:
            out.append(TurnInput(conversation.id, t.index, t.role, t.text, last.get(other, "")))
        last[t.role] = t.text
    return out


def dense_features(inputs: Sequence[TurnInput], encoder: Encoder) -> np.ndarray:
    """[turn, context, turn*context, cosine]: (n, 3*dim + 1) float32."""
    if not inputs:
        return np.zeros((0, 3 * encoder.dim + 1), dtype=np.float32)
    texts = [i.text for i in inputs]
    contexts = [i.context for i in inputs]
    unique = list(dict.fromkeys(t for t in texts + contexts if t))
    vecs = dict(zip(unique, encoder.encode(unique))) if unique else {}
    zero = np.zeros(encoder.dim, dtype=np.float32)
    e = np.stack([vecs.get(t, zero) for t in texts])
    c = np.stack([vecs.get(t, zero) for t in contexts])
    return np.hstack([e, c, e * c, (e * c).sum(axis=1, keepdims=True)]).astype(np.float32)


def lexical_features(inputs: Sequence[TurnInput], vectorizer: CharNgramVectorizer) -> SparseRows:
    return vectorizer.transform([i.text for i in inputs])
