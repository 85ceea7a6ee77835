"""Evaluation: per-label precision/recall/F1, macro-F1 per language, attitude confusion matrix."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from samtaleanalyse.classify.artefact import TurnModel
from samtaleanalyse.classify.features import dense_features
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

from .data import Example

LANGS = ("nb", "nn", "da", "sv", "en")


def predict_examples(model: TurnModel, rows: Sequence[Example], encoder: Any, task: str) -> np.ndarray:
    head = model.heads[task]
    return head.predict_proba(dense_features([r.as_input() for r in rows], encoder),
                              model.vectorizer.transform([r.text for r in rows]))


def _prf(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    tp = float((y & p).sum())
    prec = tp / p.sum() if p.sum() else 0.0
    rec = tp / y.sum() if y.sum() else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": round(prec, 3), "recall": round(rec, 3), "f1": round(f1, 3), "support": int(y.sum())}


def _attitude_metrics(y: list[str], p: list[str]) -> dict[str, Any]:
    ya, pa = np.array(y), np.array(p)
    per = {l: _prf(ya == l, pa == l) for l in ATTITUDES}
    return {"macro_f1": round(float(np.mean([per[l]["f1"] for l in ATTITUDES])), 3), "per_label": per, "n": len(y)}


def _behaviour_metrics(Y: np.ndarray, P: np.ndarray) -> dict[str, Any]:
    per = {l: _prf(Y[:, j], P[:, j]) for j, l in enumerate(BEHAVIOURS)}
    present = [l for l in BEHAVIOURS if per[l]["support"] > 0]
    return {"macro_f1": round(float(np.mean([per[l]["f1"] for l in present])), 3) if present else 0.0,
            "per_label": per, "n": int(len(Y))}


def score_predictions(model: TurnModel, rows: Sequence[Example], encoder: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cust = [r for r in rows if r.role == "customer"]
    if cust:
        proba = predict_examples(model, cust, encoder, "attitude")
        pred = [ATTITUDES[i] for i in proba.argmax(axis=1)]
        gold = [r.attitude or "" for r in cust]
        att = _attitude_metrics(gold, pred)
        att["per_language"] = {l: _attitude_metrics([g for g, r in zip(gold, cust) if r.language == l],
                                                    [q for q, r in zip(pred, cust) if r.language == l])["macro_f1"]
                               for l in LANGS if any(r.language == l for r in cust)}
        att["confusion"] = {g: {q: sum(1 for a, b in zip(gold, pred) if a == g and b == q) for q in ATTITUDES}
                            for g in ATTITUDES}
        out["attitude"] = att
    agent = [r for r in rows if r.role == "agent"]
    if agent:
        head = model.heads["behaviours"]
        proba = predict_examples(model, agent, encoder, "behaviours")
        P = proba >= head.thresholds
        Y = np.array([[l in r.behaviours for l in BEHAVIOURS] for r in agent])
        beh = _behaviour_metrics(Y, P)
        beh["per_language"] = {}
        for l in LANGS:
            mask = np.array([r.language == l for r in agent])
            if mask.any():
                beh["per_language"][l] = _behaviour_metrics(Y[mask], P[mask])["macro_f1"]
        out["behaviours"] = beh
    return out
