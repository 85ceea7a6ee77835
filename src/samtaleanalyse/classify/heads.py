"""Linear heads over dense, lexical and cue features, with fixed meanings for their outputs.

``predict_proba`` gives calibrated probabilities; ``predict`` the labels: the most probable
attitude, or every behaviour at or above its own threshold (tuned by cross-validation on the
training conversations, see the model's metadata). Cue features enter raw: their scaling is
folded into ``coef_extra`` and ``intercept`` at training time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lexical import SparseRows


@dataclass(frozen=True)
class LinearHead:
    task: str
    labels: tuple[str, ...]
    multi_label: bool
    coef_dense: np.ndarray  # (k, d_dense)
    coef_lex: np.ndarray    # (k, n_lexical)
    intercept: np.ndarray   # (k,)
    thresholds: np.ndarray  # (k,) for multi-label heads
    temperature: float = 1.0
    coef_extra: np.ndarray | None = None  # (k, d_cues), None or (k, 0) without cue features

    @property
    def n_extra(self) -> int:
        return 0 if self.coef_extra is None else int(self.coef_extra.shape[1])

    def decision_function(self, dense: np.ndarray, lexical: SparseRows, extra: np.ndarray | None = None) -> np.ndarray:
        scores = dense.astype(np.float64) @ self.coef_dense.T.astype(np.float64)
        if self.coef_lex.shape[1]:
            scores += lexical.dot(self.coef_lex)
        if self.n_extra:
            if extra is None or extra.shape[1] != self.n_extra:
                got = None if extra is None else extra.shape[1]
                raise ValueError(f"head {self.task} needs {self.n_extra} cue features, got {got}")
            scores += extra.astype(np.float64) @ self.coef_extra.T.astype(np.float64)  # type: ignore[union-attr]
        return scores + self.intercept

    def predict_proba(self, dense: np.ndarray, lexical: SparseRows, extra: np.ndarray | None = None) -> np.ndarray:
        z = self.decision_function(dense, lexical, extra) / self.temperature
        if self.multi_label:
            return 1.0 / (1.0 + np.exp(-z))
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def labels_from_proba(self, proba: np.ndarray) -> list[tuple[str, ...]]:
        if self.multi_label:
            return [tuple(l for l, p, t in zip(self.labels, row, self.thresholds) if p >= t) for row in proba]
        return [(self.labels[int(np.argmax(row))],) for row in proba]

    def predict(self, dense: np.ndarray, lexical: SparseRows, extra: np.ndarray | None = None) -> list[tuple[str, ...]]:
        return self.labels_from_proba(self.predict_proba(dense, lexical, extra))
