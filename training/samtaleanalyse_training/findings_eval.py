"""How well findings computed from predicted turn labels match those of the gold labels, per code and language.

This is the number QA cares about: a wrong turn label only matters if it changes what the agent is told.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

from samtaleanalyse.classify.predict import TurnClassifier
from samtaleanalyse.coaching import ISSUE_CODES, STRENGTH_CODES, detect, from_analysis
from samtaleanalyse.coaching.config import CoachingConfig, load_config
from samtaleanalyse.coaching.rules import Detection
from samtaleanalyse.corpus.findings import gold_findings
from samtaleanalyse.corpus.model import LabelledConversation
from samtaleanalyse.pipeline import analyse

from .metrics import macro_f1, prf


def score_findings(pairs: Sequence[tuple[str, set[str], set[str]]]) -> dict[str, Any]:
    """``pairs``: (language, gold codes, predicted codes) per conversation."""
    def table(rows: Sequence[tuple[str, set[str], set[str]]]) -> dict[str, Any]:
        per = {}
        for code in ISSUE_CODES + STRENGTH_CODES:
            tp = sum(code in g and code in p for _, g, p in rows)
            fp = sum(code not in g and code in p for _, g, p in rows)
            fn = sum(code in g and code not in p for _, g, p in rows)
            per[code] = prf(tp, fp, fn)
        return {"n": len(rows), "issues_macro_f1": macro_f1(per, ISSUE_CODES, present_only=True),
                "strengths_macro_f1": macro_f1(per, STRENGTH_CODES, present_only=True),
                "all_macro_f1": macro_f1(per, ISSUE_CODES + STRENGTH_CODES, present_only=True), "per_code": per}

    by_lang: dict[str, list[tuple[str, set[str], set[str]]]] = defaultdict(list)
    for row in pairs:
        by_lang[row[0]].append(row)
    overall = table(pairs)
    overall["per_language"] = {lang: {k: v for k, v in table(rows).items() if k != "per_code"}
                               for lang, rows in sorted(by_lang.items())}
    return overall


def detections(classifier: TurnClassifier, convs: Sequence[LabelledConversation]) -> list[list[Detection]]:
    """Every rule's detections (with their confidences) on the predicted turn labels of ``convs``."""
    return [detect(from_analysis(analysed)) for analysed in analyse((c.to_conversation() for c in convs), classifier)]


def findings_pairs(classifier: TurnClassifier, convs: Sequence[LabelledConversation],
                   config: CoachingConfig | None = None) -> list[tuple[str, set[str], set[str]]]:
    """(language, gold codes, predicted codes) per conversation: findings with every rule enabled, from the
    gold turn labels and from ``classifier``'s. A finding less confident than its rule's ``min_confidence``
    (``config``, default the shipped rules.toml) is not counted: the agent would not be told it either."""
    config = config or load_config()
    pairs = []
    for conv, found in zip(convs, detections(classifier, convs)):
        predicted = {d.code for d in found if d.confidence >= config.rule(d.code).min_confidence}
        pairs.append((conv.language, set(gold_findings(conv)), predicted))
    return pairs


def evaluate_findings(classifier: TurnClassifier, convs: Sequence[LabelledConversation],
                      config: CoachingConfig | None = None) -> dict[str, Any]:
    """Predict turn labels for ``convs``, derive findings with every rule enabled, compare with gold
    (:func:`findings_pairs`, scored by :func:`score_findings`)."""
    return score_findings(findings_pairs(classifier, convs, config))


MIN_CONFIDENCE_GRID = (0.0, 0.5, 0.6, 0.7, 0.8)


def tune_min_confidence(classifier: TurnClassifier, convs: Sequence[LabelledConversation],
                        grid: Sequence[float] = MIN_CONFIDENCE_GRID) -> dict[str, dict[str, float]]:
    """Per finding code, the ``min_confidence`` on ``grid`` with the best F1 on ``convs`` (tune on dev, never test).

    Ties go to the lowest value: a finding is only held back where that measurably helps."""
    found = detections(classifier, convs)
    gold = [set(gold_findings(c)) for c in convs]
    out: dict[str, dict[str, float]] = {}
    for code in ISSUE_CODES + STRENGTH_CODES:
        best: tuple[float, float] | None = None
        for m in grid:
            f1 = prf(*_counts(code, gold, found, m))["f1"]
            if best is None or f1 > best[1] + 1e-9:
                best = (m, f1)
        assert best is not None
        base = prf(*_counts(code, gold, found, 0.0))["f1"]
        out[code] = {"min_confidence": best[0], "f1": best[1], "f1_at_0": base}
    return out


def _counts(code: str, gold: Sequence[set[str]], found: Sequence[Sequence[Detection]], m: float) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for g, ds in zip(gold, found):
        hit = any(d.code == code and d.confidence >= m for d in ds)
        tp += hit and code in g
        fp += hit and code not in g
        fn += (not hit) and code in g
    return tp, fp, fn
