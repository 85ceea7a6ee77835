"""Guideline rules on the heads' labels (classify/label_rules.py): D8's "sorry to hear" is empathy, not an
apology, unless the turn also owns a failure. Cases in ``data/label_rules/``, one per line."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from samtaleanalyse.analysis import AnalysedConversation
from samtaleanalyse.classify.label_rules import D8_SYMPATHY, NEGATED_FAULT, RULES, apply_rules
from samtaleanalyse.conversation import Conversation, Turn

ROOT = Path(__file__).resolve().parents[1]

def _cases(rule: str) -> list[dict]:
    return [{**json.loads(line), "rule": rule} for line in (ROOT / "tests" / "data" / "label_rules" / f"{rule}.jsonl")
            .read_text(encoding="utf-8").splitlines() if line.strip()]


CASES = _cases(D8_SYMPATHY)
FAULT_CASES = _cases(NEGATED_FAULT)


@pytest.mark.parametrize("case", CASES + FAULT_CASES, ids=[f"{c['rule']}-{c['language']}-{c['text'][:30]}"
                                                          for c in CASES + FAULT_CASES])
def test_rule_cases(case):
    labels, changed = apply_rules([case["rule"]], "behaviours", case["labels"], case["text"])
    assert list(labels) == case["expected"], case["note"]
    assert changed == ((case["rule"],) if sorted(case["labels"]) != sorted(case["expected"]) else ())
    assert apply_rules([], "behaviours", case["labels"], case["text"]) == (tuple(case["labels"]), ())


def test_both_rules_together_name_what_changed():
    text = "Sorry to hear that. It is not our fault, the courier lost it."
    labels, changed = apply_rules(RULES, "behaviours", ["apology", "blame"], text)
    # "Sorry" is inside the formula and "not our fault" denies the fault: only the two rules together excuse both
    assert labels == ("empathy", "blame") and changed == (D8_SYMPATHY, NEGATED_FAULT)
    assert apply_rules([D8_SYMPATHY], "behaviours", ["apology", "blame"], text)[0] == ("apology", "empathy", "blame")
    labels, changed = apply_rules(RULES, "behaviours", ["apology", "blame"], "It is not our fault, the courier lost it.")
    assert labels == ("blame",) and changed == (NEGATED_FAULT,)


def test_the_cases_cover_every_language_and_both_outcomes():
    for cases in (CASES, FAULT_CASES):
        assert {c["language"] for c in cases} == {"nb", "nn", "da", "sv", "en"}
        assert any("apology" in c["expected"] for c in cases) and any("apology" not in c["expected"] for c in cases
                                                                      if "apology" in c["labels"])


def test_a_behaviour_rule_leaves_attitude_alone():
    assert apply_rules([D8_SYMPATHY], "attitude", ("hostile",), "Sorry to hear that.") == (("hostile",), ())


def _model_copy(folder: Path, rules: list[str]) -> Path:
    """A copy of the default model naming ``rules`` (the shipped folder is not changed)."""
    from samtaleanalyse.classify.loading import default_model_path

    shutil.copytree(default_model_path(), folder)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["tasks"]["behaviours"]["label_rules"] = rules
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return folder


def test_a_model_that_names_the_rule_labels_through_it_and_says_so(tmp_path):
    from samtaleanalyse.classify.loading import load_classifier

    conv = Conversation("c1", (Turn(0, "customer", "My package never arrived and nobody answers."),
                               Turn(1, "agent", "Sorry to hear that. I have sent you a DM.")), language="en")
    plain = load_classifier(_model_copy(tmp_path / "plain", []), num_threads=1).predict([conv])[0]
    ruled = load_classifier(_model_copy(tmp_path / "ruled", [D8_SYMPATHY]), num_threads=1).predict([conv])[0]
    before, after = ([p for p in preds if p.task == "behaviours"][0] for preds in (plain, ruled))
    assert "apology" in before.labels and before.rules == ()  # what the heads say (the failure D8 names)
    assert "apology" not in after.labels and "empathy" in after.labels and after.rules == (D8_SYMPATHY,)
    assert "apology" in after.ruled_labels and set(after.ruled_labels) <= {"apology", "empathy"}
    assert after.scores == before.scores                      # the probabilities stay the heads'
    record = AnalysedConversation(conv, tuple(ruled)).to_dict()
    assert record["turns"][1]["label_rules"] == [D8_SYMPATHY] and "label_rules" not in record["turns"][0]


def test_evaluation_scores_the_labels_after_the_models_rules():
    """``behaviour_report`` with the model's rules gives the figures of the labels the pipeline gives."""
    import numpy as np

    pytest.importorskip("sklearn")
    from samtaleanalyse.labels import BEHAVIOURS
    from samtaleanalyse_training.data import Example
    from samtaleanalyse_training.evaluate import behaviour_report

    def row(text: str, gold: tuple[str, ...]) -> Example:
        return Example("c", 1, "en", "dev", "agent", text, "", None, gold, 1, 2, 0)

    rows = [row("Sorry to hear that. I have sent you a DM.", ("empathy",)),
            row("So sorry for the long wait.", ("apology",))]
    proba = np.full((2, len(BEHAVIOURS)), 0.1)
    proba[:, BEHAVIOURS.index("apology")] = 0.9                            # the heads: both apologise
    thresholds = np.full(len(BEHAVIOURS), 0.5)
    plain = behaviour_report(rows, proba, thresholds)["per_label"]
    ruled = behaviour_report(rows, proba, thresholds, (D8_SYMPATHY,))["per_label"]
    assert plain["empathy"]["f1"] == 0.0 and plain["apology"]["precision"] == 0.5
    assert ruled["empathy"]["f1"] == 1.0 and ruled["apology"]["f1"] == 1.0


def test_coaching_reads_a_ruled_label_with_the_heads_certainty_turned_round():
    from samtaleanalyse.classify.predict import TurnPrediction
    from samtaleanalyse.coaching.view import from_analysis

    conv = Conversation("c1", (Turn(0, "customer", "Nobody answers!"), Turn(1, "agent", "Sorry to hear that.")),
                        language="en")
    preds = (TurnPrediction(0, "attitude", {"hostile": 0.8, "sceptical": 0.1, "loyal": 0.0, "neutral": 0.1},
                            ("hostile",), False, "m"),
             TurnPrediction(1, "behaviours", {"apology": 0.9, "empathy": 0.2, "question": 0.05}, ("empathy",), False,
                            "m", rules=(D8_SYMPATHY,), ruled_labels=("apology", "empathy")))
    agent = from_analysis(AnalysedConversation(conv, preds)).agent[0]
    assert not agent.has("apology") and agent.has("empathy")
    assert agent.p("apology") == pytest.approx(0.1) and agent.p("empathy") == pytest.approx(0.8)
    assert agent.p("question") == 0.05                                      # untouched labels keep the heads'


def test_the_default_model_names_both_rules():
    from samtaleanalyse.classify.artefact import load_model
    from samtaleanalyse.classify.loading import default_model_path

    assert load_model(default_model_path()).label_rules("behaviours") == RULES
