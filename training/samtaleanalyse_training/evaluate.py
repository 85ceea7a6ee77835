"""Evaluation of turn labels: per-label precision/recall/F1, macro-F1 per language, attitude confusion matrix.

The figures themselves are computed in ``metrics.py``; this module predicts and slices (by language)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from samtaleanalyse.classify.artefact import TurnModel
from samtaleanalyse.classify.features import dense_features, extra_features
from samtaleanalyse.classify.heads import LinearHead
from samtaleanalyse.classify.label_rules import apply_rules
from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS

from .data import Example
from .metrics import multi_label_metrics, single_label_metrics


def attitude_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    return single_label_metrics(gold, pred, ATTITUDES)


def behaviour_metrics(Y: np.ndarray, P: np.ndarray) -> dict[str, Any]:
    return multi_label_metrics(Y, P, BEHAVIOURS)


def predict_examples(model: TurnModel, rows: Sequence[Example], encoder: Any, task: str) -> np.ndarray:
    head = model.heads[task]
    inputs = [r.as_input() for r in rows]
    return head.predict_proba(dense_features(inputs, encoder), model.vectorizer.transform([r.text for r in rows]),
                              extra_features(inputs, model.cues))


def attitude_report(rows: Sequence[Example], proba: np.ndarray) -> dict[str, Any]:
    pred = [ATTITUDES[i] for i in proba.argmax(axis=1)]
    gold = [r.attitude or "" for r in rows]
    att = attitude_metrics(gold, pred)
    att["per_language"] = {l: attitude_metrics([g for g, r in zip(gold, rows) if r.language == l],
                                               [q for q, r in zip(pred, rows) if r.language == l])["macro_f1"]
                           for l in LANGUAGES if any(r.language == l for r in rows)}
    att["confusion"] = {g: {q: sum(1 for a, b in zip(gold, pred) if a == g and b == q) for q in ATTITUDES}
                        for g in ATTITUDES}
    return att


def behaviour_report(rows: Sequence[Example], proba: np.ndarray, thresholds: np.ndarray,
                     rules: Sequence[str] = ()) -> dict[str, Any]:
    """Metrics of the labels the pipeline gives: ``proba`` over ``thresholds``, then the model's guideline
    ``rules`` (``TurnModel.label_rules``) on each row's text."""
    P = proba >= thresholds
    if rules:
        for k, r in enumerate(rows):
            labels, changed = apply_rules(rules, "behaviours", [l for l, x in zip(BEHAVIOURS, P[k]) if x], r.text)
            if changed:
                P[k] = [l in labels for l in BEHAVIOURS]
    Y = np.array([[l in r.behaviours for l in BEHAVIOURS] for r in rows]).reshape(len(rows), len(BEHAVIOURS))
    beh = behaviour_metrics(Y, P)
    beh["per_language"] = {}
    for l in LANGUAGES:
        mask = np.array([r.language == l for r in rows], dtype=bool)
        if mask.any():
            beh["per_language"][l] = behaviour_metrics(Y[mask], P[mask])["macro_f1"]
    return beh


def metrics_from_scores(task: str, rows: Sequence[Example], scores: np.ndarray, head: LinearHead,
                        rules: Sequence[str] = ()) -> dict[str, Any]:
    """Metrics of raw decision scores (e.g. out-of-fold ones), read with the head's temperature and thresholds
    and the model's guideline ``rules``."""
    z = scores / head.temperature
    if task == "attitude":
        z = z - z.max(axis=1, keepdims=True)
        return attitude_report(rows, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    return behaviour_report(rows, 1.0 / (1.0 + np.exp(-z)), head.thresholds, rules)


def score_predictions(model: TurnModel, rows: Sequence[Example], encoder: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cust = [r for r in rows if r.role == "customer"]
    if cust and "attitude" in model.heads:
        out["attitude"] = attitude_report(cust, predict_examples(model, cust, encoder, "attitude"))
    agent = [r for r in rows if r.role == "agent"]
    if agent and "behaviours" in model.heads:
        out["behaviours"] = behaviour_report(agent, predict_examples(model, agent, encoder, "behaviours"),
                                             model.heads["behaviours"].thresholds, model.label_rules("behaviours"))
    return out


def human_agreement(corpus: str | Path) -> dict[str, Any] | None:
    """The corpus labels scored against a second annotator's (``<corpus>/../agreement/second_annotator.jsonl``):
    the ceiling a model can be expected to reach. None when there is no second annotation."""
    path = Path(corpus)
    path = (path if path.is_dir() else path.parent).parent / "agreement" / "second_annotator.jsonl"
    if not path.is_file():
        return None
    main: dict[str, dict[str, Any]] = {}
    for f in sorted((path.parent.parent / "conversations").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                c = json.loads(line)
                main[c["id"]] = c
    gold_att, other_att, gold_beh, other_beh, n = [], [], [], [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        second = json.loads(line)
        first = main.get(second.get("id"))
        if first is None or len(first["turns"]) != len(second["turns"]):
            continue
        n += 1
        for a, b in zip(first["turns"], second["turns"]):
            if a.get("speaker") == "customer" and a.get("attitude") and b.get("attitude"):
                gold_att.append(a["attitude"])
                other_att.append(b["attitude"])
            elif a.get("speaker") == "agent":
                gold_beh.append([l in (a.get("behaviours") or []) for l in BEHAVIOURS])
                other_beh.append([l in (b.get("behaviours") or []) for l in BEHAVIOURS])
    if not n:
        return None
    att = attitude_metrics(gold_att, other_att)
    beh = behaviour_metrics(np.array(gold_beh, dtype=bool).reshape(-1, len(BEHAVIOURS)),
                             np.array(other_beh, dtype=bool).reshape(-1, len(BEHAVIOURS)))
    return {"conversations": n, "file": str(path), "attitude": att, "behaviours": beh}
