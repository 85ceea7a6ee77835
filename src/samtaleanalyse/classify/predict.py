"""Predicting turn labels for whole conversations, batched, pure: no conversation is changed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..conversation import Conversation
from .artefact import TASK_ROLES, TurnModel
from .features import Encoder, dense_features, extra_features, lexical_features, turn_inputs


@dataclass(frozen=True)
class TurnPrediction:
    turn_index: int
    task: str                      # "attitude" or "behaviours"
    scores: Mapping[str, float]    # label -> probability
    labels: tuple[str, ...]
    uncertain: bool
    model: str


class TurnClassifier:
    """Attitude for customer turns and behaviours for agent turns."""

    def __init__(self, model: TurnModel, encoder: Encoder, normalise: bool = True) -> None:
        self.model = model
        self.encoder = encoder
        # The heads read normalised text (text.normalise); off only to measure what normalising buys.
        self.normalise = normalise

    def predict(self, conversations: Sequence[Conversation]) -> list[list[TurnPrediction]]:
        inputs = [turn_inputs(c, normalise=self.normalise) for c in conversations]
        flat = [i for conv in inputs for i in conv]
        dense = dense_features(flat, self.encoder)
        lexical = lexical_features(flat, self.model.vectorizer)
        extra = extra_features(flat, self.model.cues)
        roles = np.array([i.role for i in flat])
        # Results are matched to turns by position, never by id: two conversations may share an id.
        per_turn: dict[int, TurnPrediction] = {}
        for task, head in self.model.heads.items():
            rows = np.flatnonzero(roles == TASK_ROLES[task])
            if not len(rows):
                continue
            sub_lex = lexical.take(rows)
            proba = head.predict_proba(dense[rows], sub_lex, extra[rows])
            labels = head.labels_from_proba(proba)
            margin = self.model.uncertainty(task)
            for r, p, labs in zip(rows, proba, labels):
                if head.multi_label:
                    uncertain = bool(np.any(np.abs(p - head.thresholds) < margin))
                else:
                    uncertain = bool(p.max() < margin)
                per_turn[int(r)] = TurnPrediction(
                    turn_index=flat[r].turn_index, task=task,
                    scores={l: round(float(x), 4) for l, x in zip(head.labels, p)},
                    labels=labs, uncertain=uncertain, model=self.model.name)
        out: list[list[TurnPrediction]] = []
        start = 0
        for conv in inputs:
            out.append([per_turn[r] for r in range(start, start + len(conv)) if r in per_turn])
            start += len(conv)
        return out

