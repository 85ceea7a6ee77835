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
