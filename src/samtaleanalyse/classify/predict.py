"""Predicting turn labels for whole conversations, batched, pure: no conversation is changed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from ..conversation import Conversation
from .artefact import TASK_ROLES, TurnModel
from .features import Encoder, TurnInput, dense_features, extra_features, lexical_features, turn_inputs
from .label_rules import apply_rules

if TYPE_CHECKING:
    from .cascade import Cascade


@dataclass(frozen=True)
class TurnPrediction:
    turn_index: int
    task: str                      # "attitude" or "behaviours"
    scores: Mapping[str, float]    # label -> probability
    labels: tuple[str, ...]
    uncertain: bool
    model: str
    rules: tuple[str, ...] = ()    # the guideline rules that changed the head's labels (label_rules.py)
    ruled_labels: tuple[str, ...] = ()  # the labels they added or took away


def task_probabilities(model: TurnModel, encoder: Encoder, flat: Sequence[TurnInput]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per task, the rows of ``flat`` it reads (its role's turns) and their probabilities."""
    if not flat:
        return {}
    dense = dense_features(flat, encoder)
    lexical = lexical_features(flat, model.vectorizer)
    extra = extra_features(flat, model.cues)
    roles = np.array([i.role for i in flat])
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for task, head in model.heads.items():
        rows = np.flatnonzero(roles == TASK_ROLES[task])
        if len(rows):
            out[task] = (rows, head.predict_proba(dense[rows], lexical.take(rows), extra[rows]))
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def near_threshold(thresholds: np.ndarray, margin: float, scale: str = "probability"
                   ) -> Callable[[np.ndarray], bool]:
    """Whether a turn's behaviour probabilities lie near a threshold: within ``margin`` of it ("probability"), or
    within the log-odds distance ``margin`` has at 0.5 ("logit"). In probability a threshold tuned to 0.9 with a
    0.1 margin would flag every turn the head is surest of (0.8 to 1.0); in log-odds its band is 0.86 to 0.93,
    and at 0.5 the two are the same."""
    if scale == "logit":
        centre, width = _logit(np.asarray(thresholds, dtype=float)), float(_logit(np.array(0.5 + margin)))
        return lambda p: bool(np.any(np.abs(_logit(p) - centre) < width))
    if scale != "probability":
        raise ValueError(f"uncertain_scale must be 'probability' or 'logit', not {scale!r}")
    return lambda p: bool(np.any(np.abs(p - thresholds) < margin))


class TurnClassifier:
    """Attitude for customer turns and behaviours for agent turns.

    With ``cascade`` (classify/cascade.py), a cheap first stage labels the turns it is sure of and only the
    others reach ``encoder``; ``sent_on`` counts them (turns read, turns sent to the encoder)."""

    def __init__(self, model: TurnModel, encoder: Encoder, cascade: "Cascade | None" = None,
                 normalise: bool = True) -> None:
        self.model = model
        self.encoder = encoder
        self.cascade = cascade
        # The heads read normalised text (text.normalise); off only to measure what normalising buys.
        self.normalise = normalise
        self.sent_on = [0, 0]

    def _labelled(self, model: TurnModel, task: str, flat: Sequence[TurnInput], rows: np.ndarray,
                  proba: np.ndarray, per_turn: dict[int, TurnPrediction]) -> None:
        head = model.heads[task]
        labels = head.labels_from_proba(proba)
        # the rules the classifier's model names, for a cascade's first stage too: a turn's labels must not
        # depend on which stage read it
        rules = self.model.label_rules(task)
        changed: list[tuple[str, ...]] = [()] * len(labels)
        flipped: list[tuple[str, ...]] = [()] * len(labels)
        if rules:
            ruled = [apply_rules(rules, task, labs, flat[r].text) for r, labs in zip(rows, labels)]
            flipped = [tuple(l for l in head.labels if (l in before) != (l in after))
                       for before, (after, _) in zip(labels, ruled)]
            labels, changed = [labs for labs, _ in ruled], [c for _, c in ruled]
        margin = model.uncertainty(task)
        near = near_threshold(head.thresholds, margin, model.uncertainty_scale(task)) if head.multi_label else None
        for r, p, labs, by, turned in zip(rows, proba, labels, changed, flipped):
            if near is not None:
                uncertain = near(p)
            else:
                uncertain = bool(p.max() < margin)
            per_turn[int(r)] = TurnPrediction(
                turn_index=flat[r].turn_index, task=task,
                scores={l: round(float(x), 4) for l, x in zip(head.labels, p)},
                labels=labs, uncertain=uncertain, model=model.name, rules=by, ruled_labels=turned)

    def predict(self, conversations: Sequence[Conversation]) -> list[list[TurnPrediction]]:
        inputs = [turn_inputs(c, normalise=self.normalise, version=self.model.text_normalisation) for c in conversations]
        flat = [i for conv in inputs for i in conv]
        # Results are matched to turns by position, never by id: two conversations may share an id.
        per_turn: dict[int, TurnPrediction] = {}
        second = np.arange(len(flat))
        if self.cascade is not None and flat:
            first = self.cascade.model
            keep = np.zeros(len(flat), dtype=bool)
            for task, (rows, proba) in task_probabilities(first, self.cascade.encoder, flat).items():
                kept = self.cascade.margins.keep(task, proba, first.heads[task].thresholds)
                keep[rows[kept]] = True
                self._labelled(first, task, flat, rows[kept], proba[kept], per_turn)
            second = np.flatnonzero(~keep)
            self.sent_on[0] += len(flat)
            self.sent_on[1] += len(second)
        sub = [flat[r] for r in second]
        for task, (rows, proba) in task_probabilities(self.model, self.encoder, sub).items():
            self._labelled(self.model, task, flat, second[rows], proba, per_turn)
        out: list[list[TurnPrediction]] = []
        start = 0
        for conv in inputs:
            out.append([per_turn[r] for r in range(start, start + len(conv)) if r in per_turn])
            start += len(conv)
        return out
