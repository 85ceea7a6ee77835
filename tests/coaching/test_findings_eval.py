"""Findings evaluation: predicted-label findings against gold-label findings."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("samtaleanalyse_training")

from samtaleanalyse.classify.predict import TurnPrediction  # noqa: E402
from samtaleanalyse.corpus import load_corpus  # noqa: E402
from samtaleanalyse_training.findings_eval import evaluate_findings, score_findings  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "data" / "annotated" / "conversations"


class Oracle:
    """Predicts the gold labels (optionally dropping one behaviour everywhere)."""

    def __init__(self, convs, drop: str | None = None):
        self.gold = {c.id: c for c in convs}
        self.drop = drop

    def predict(self, conversations):
        out = []
        for conv in conversations:
            preds = []
            for lt in self.gold[conv.id].turns:
                if lt.turn.role == "customer":
                    preds.append(TurnPrediction(lt.turn.index, "attitude", {lt.attitude: 1.0}, (lt.attitude,), False, "oracle"))
                elif lt.turn.role == "agent":
                    labels = tuple(b for b in lt.behaviours if b != self.drop)
                    preds.append(TurnPrediction(lt.turn.index, "behaviours", {b: 1.0 for b in labels}, labels, False, "oracle"))
            out.append(preds)
        return out


def test_gold_labels_give_perfect_findings_and_a_missing_label_shows_up():
    convs = [c for c in load_corpus(CORPUS) if c.split == "dev"][:30]
    perfect = evaluate_findings(Oracle(convs), convs)
    assert perfect["issues_macro_f1"] == 1.0 and perfect["strengths_macro_f1"] == 1.0
    assert set(perfect["per_language"]) <= {"nb", "nn", "da", "sv", "en"}
    blind = evaluate_findings(Oracle(convs, drop="apology"), convs)
    assert blind["per_code"]["missing_apology"]["precision"] < 1.0
    assert blind["per_code"]["apology_given"]["recall"] == 0.0


def test_score_findings_counts():
    m = score_findings([("nb", {"missing_apology"}, {"missing_apology", "no_paraphrase"}),
                        ("da", {"no_paraphrase"}, set())])
    assert m["per_code"]["missing_apology"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert m["per_code"]["no_paraphrase"]["f1"] == 0.0
    assert m["issues_macro_f1"] == 0.5 and m["n"] == 2


class Hedging(Oracle):
    """Gold labels, except that neutral and loyal customer turns come out hostile at 40 %: complaints
    everywhere, each with low confidence."""

    def predict(self, conversations):
        out = []
        for preds in super().predict(conversations):
            fixed = []
            for p in preds:
                if p.task == "attitude" and p.labels[0] in ("neutral", "loyal"):
                    p = TurnPrediction(p.turn_index, "attitude", {"hostile": 0.4, p.labels[0]: 0.35, "sceptical": 0.0},
                                       ("hostile",), True, "oracle")
                fixed.append(p)
            out.append(fixed)
        return out


def test_min_confidence_is_tuned_and_applied():
    from samtaleanalyse.coaching.config import load_config
    from samtaleanalyse_training.findings_eval import tune_min_confidence

    convs = [c for c in load_corpus(CORPUS) if c.split == "dev"][:30]
    tuned = tune_min_confidence(Oracle(convs), convs)
    assert all(t["min_confidence"] == 0.0 and t["f1"] in (0.0, 1.0) for t in tuned.values())  # ties: the lowest
    # With the gold labels at full confidence no threshold up to 1.0 removes a finding.
    strict = load_config(overrides={"findings": {c: {"min_confidence": 1.0} for c in tuned}})
    assert evaluate_findings(Oracle(convs), convs, strict)["issues_macro_f1"] == 1.0
    # Hedged predictions: the complaint findings carry confidence <= 0.4 where there was no complaint,
    # and a min_confidence of 0.5 holds them back again.
    hedged = evaluate_findings(Hedging(convs), convs)
    assert hedged["per_code"]["missing_apology"]["precision"] < 1.0
    careful = load_config(overrides={"findings": {"missing_apology": {"min_confidence": 0.5}}})
    assert evaluate_findings(Hedging(convs), convs, careful)["per_code"]["missing_apology"]["precision"] == 1.0
