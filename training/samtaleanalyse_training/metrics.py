"""Precision, recall, F1 and macro-F1: the one implementation every evaluation, fitting step and benchmark uses.

Definitions (kept exactly as the figures in the model cards were computed, so old and new numbers compare):

- precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2·P·R / (P + R); each is 0.0 where its
  denominator is 0 (no predictions, no gold positives, or both zero);
- ``support`` is the number of gold positives (tp + fn);
- reported figures are rounded (3 digits by default) with numpy's rounding, macro-F1 is the plain mean of
  the rounded per-label F1s, rounded with Python's ``round``;
- single-label tasks (attitude) average over every label, absent ones included (a label with no gold and
  no predicted turns scores 0.0); multi-label tasks (behaviours, findings) average over the labels that
  occur in the gold data only.

numpy only: ``finetune/core.py`` imports this on a GPU machine that has no samtaleanalyse installed.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

# The behaviour threshold grid (0.10, 0.15, ..., 0.90) used unless a config asks for another.
DEFAULT_GRID = np.round(np.arange(0.1, 0.91, 0.05), 4)
# Two F1 values closer than this are the same value computed along different float paths (distinct
# fractions of counts below 10^6 differ by far more), so a threshold search treats them as a tie.
_TIE = 1e-12


def counts(gold: Sequence[bool] | np.ndarray, pred: Sequence[bool] | np.ndarray) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of two boolean vectors of equal length."""
    g, p = np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool)
    if g.shape != p.shape:
        raise ValueError(f"gold and pred differ in length ({g.shape} vs {p.shape})")
    return int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum())


def f1_from_counts(tp: int, fp: int, fn: int) -> float:
    """Unrounded F1 of the counts (0.0 when there is nothing to score)."""
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def f1(gold: Sequence[bool] | np.ndarray, pred: Sequence[bool] | np.ndarray) -> float:
    """Unrounded F1 of two boolean vectors (for choosing thresholds and epochs, not for reports)."""
    return f1_from_counts(*counts(gold, pred))


def _rounded(x: float, digits: int | None) -> float:
    return x if digits is None else float(np.round(x, digits))


def prf(tp: int, fp: int, fn: int, *, digits: int | None = 3) -> dict[str, Any]:
    """``{"precision", "recall", "f1", "support"}`` of the counts, rounded to ``digits`` (None: unrounded)."""
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": _rounded(prec, digits), "recall": _rounded(rec, digits),
            "f1": _rounded(f1_from_counts(tp, fp, fn), digits), "support": tp + fn}


def prf_of(gold: Sequence[bool] | np.ndarray, pred: Sequence[bool] | np.ndarray, *,
           digits: int | None = 3) -> dict[str, Any]:
    """:func:`prf` of two boolean vectors."""
    return prf(*counts(gold, pred), digits=digits)


def macro(values: Sequence[float], *, digits: int = 3) -> float | None:
    """The mean of ``values`` rounded to ``digits``; None when there is none."""
    return round(float(np.mean(values)), digits) if len(values) else None


def macro_f1(per_label: Mapping[str, Mapping[str, Any]], labels: Sequence[str], *, present_only: bool,
             digits: int = 3) -> float | None:
    """Mean F1 over ``labels`` (only those with gold support when ``present_only``); None when none counts."""
    scored = [per_label[l]["f1"] for l in labels if l in per_label and (not present_only or per_label[l]["support"] > 0)]
    return macro(scored, digits=digits)


def single_label_metrics(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """One label per item (attitude): per-label P/R/F1 and macro-F1 over every label in ``labels``."""
    g, p = np.array(gold, dtype=object), np.array(pred, dtype=object)
    per = {l: prf_of(g == l, p == l) for l in labels}
    return {"macro_f1": macro_f1(per, labels, present_only=False), "per_label": per, "n": len(gold)}


def multi_label_metrics(Y: np.ndarray, P: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Any number of labels per item (behaviours): ``Y`` gold and ``P`` predicted, boolean (items, labels);
    macro-F1 over the labels with gold support (0.0 when there is none)."""
    Y = np.asarray(Y, dtype=bool).reshape(-1, len(labels))
    P = np.asarray(P, dtype=bool).reshape(-1, len(labels))
    per = {l: prf_of(Y[:, j], P[:, j]) for j, l in enumerate(labels)}
    m = macro_f1(per, labels, present_only=True)
    return {"macro_f1": 0.0 if m is None else m, "per_label": per, "n": int(len(Y))}


def binary_metrics(gold: Sequence[bool], pred: Sequence[bool], target: str, *, digits: int = 4) -> dict[str, Any]:
    """Target against not-target: accuracy, macro-F1 of the two classes and each class's P/R/F1."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    n = len(gold)
    tp, fp, fn = counts(gold, pred) if n else (0, 0, 0)
    tn = n - tp - fp - fn
    pos = prf(tp, fp, fn, digits=digits)
    neg = prf(tn, fn, fp, digits=digits)
    return {
        "n": n, "n_target": tp + fn, "n_predicted_target": tp + fp,
        "accuracy": round((tp + tn) / n, digits) if n else 0.0,
        "macro_f1": round((pos["f1"] + neg["f1"]) / 2, digits),
        "per_class": {target: pos, f"not_{target}": neg},
    }


def best_threshold(y: np.ndarray, p: np.ndarray, grid: np.ndarray | None = None, *, stable: bool = False) -> float:
    """The threshold of ``grid`` whose decisions ``p >= t`` have the best F1 against ``y``, the lowest one on
    ties; 0.5 when ``y`` has no positives (there is nothing to tune on).

    With ``stable``, every threshold within one example of the best counts as best (F1 within
    ``1 / positives``: what one turn more or less right moves it by), and the one nearest 0.5 wins (the lower on
    ties). On a flat F1 curve a single dev turn otherwise drags the threshold to the grid's edge (0.9 for
    ``thanks``, whose F1 was 0.980 from 0.15 to 0.85), where the most sure predictions sit inside the
    ``uncertain`` margin and are all sent to review."""
    grid = DEFAULT_GRID if grid is None else grid
    y = np.asarray(y).astype(bool)
    if not y.any():
        return 0.5
    scores = np.array([f1(y, p >= t) for t in grid])
    tolerance = 1.0 / int(y.sum()) if stable else 0.0
    best = np.flatnonzero(scores >= scores.max() - tolerance - _TIE)
    if not stable:
        return float(grid[int(best[0])])
    distance = np.round(np.abs(np.asarray(grid, dtype=float)[best] - 0.5), 9)
    return float(grid[int(best[int(np.argmin(distance))])])
