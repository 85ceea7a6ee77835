"""metrics.py, the one precision/recall/F1 implementation: hand-computed cases from tests/data/metrics/*.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from samtaleanalyse_training import metrics

DATA = Path(__file__).resolve().parent / "data" / "metrics"


def _cases(name: str) -> list[dict]:
    cases = json.loads((DATA / name).read_text(encoding="utf-8"))["cases"]
    assert cases, name
    return cases


def _ids(cases: list[dict]) -> list[str]:
    return [c["name"] for c in cases]


PRF, SINGLE, MULTI = _cases("prf.json"), _cases("single_label.json"), _cases("multi_label.json")
BINARY, THRESHOLDS = _cases("binary.json"), _cases("thresholds.json")


@pytest.mark.parametrize("case", PRF, ids=_ids(PRF))
def test_prf_from_counts(case):
    assert metrics.prf(case["tp"], case["fp"], case["fn"], digits=case["digits"]) == case["expected"]


@pytest.mark.parametrize("case", PRF, ids=_ids(PRF))
def test_prf_of_vectors_agrees_with_counts(case):
    """The same counts laid out as boolean vectors (tp, then fp, then fn rows) give the same figures."""
    tp, fp, fn = case["tp"], case["fp"], case["fn"]
    gold = [True] * tp + [False] * fp + [True] * fn
    pred = [True] * tp + [True] * fp + [False] * fn
    assert metrics.counts(gold, pred) == (tp, fp, fn)
    assert metrics.prf_of(gold, pred, digits=case["digits"]) == case["expected"]
    assert round(metrics.f1(gold, pred), case["digits"]) == pytest.approx(case["expected"]["f1"])


@pytest.mark.parametrize("case", SINGLE, ids=_ids(SINGLE))
def test_single_label_metrics(case):
    assert metrics.single_label_metrics(case["gold"], case["pred"], case["labels"]) == case["expected"]


@pytest.mark.parametrize("case", MULTI, ids=_ids(MULTI))
def test_multi_label_metrics(case):
    Y = np.array(case["gold"], dtype=bool).reshape(-1, len(case["labels"]))
    P = np.array(case["pred"], dtype=bool).reshape(-1, len(case["labels"]))
    assert metrics.multi_label_metrics(Y, P, case["labels"]) == case["expected"]


@pytest.mark.parametrize("case", BINARY, ids=_ids(BINARY))
def test_binary_metrics(case):
    assert metrics.binary_metrics(case["gold"], case["pred"], case["target"]) == case["expected"]


@pytest.mark.parametrize("case", THRESHOLDS, ids=_ids(THRESHOLDS))
def test_best_threshold(case):
    grid = None if case["grid"] is None else np.array(case["grid"])
    got = metrics.best_threshold(np.array(case["y"]), np.array(case["p"]), grid, stable=case.get("stable", False))
    assert got == pytest.approx(case["expected"])


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="differ in length"):
        metrics.counts([True, False], [True])
    with pytest.raises(ValueError, match="differ in length"):
        metrics.binary_metrics([True], [True, False], "t")


def test_macro_of_nothing_is_none():
    assert metrics.macro([]) is None
    assert metrics.macro_f1({"a": {"f1": 0.4, "support": 0}}, ["a"], present_only=True) is None
    assert metrics.macro_f1({"a": {"f1": 0.4, "support": 0}}, ["a"], present_only=False) == 0.4


def test_the_old_copies_are_gone():
    """One implementation: the modules that each had their own P/R/F1 helper now import metrics.py."""
    root = Path(__file__).resolve().parents[1]
    for rel in ("training/samtaleanalyse_training/train.py", "training/samtaleanalyse_training/fitting.py",
                "training/samtaleanalyse_training/finetune/core.py",
                "training/samtaleanalyse_training/findings_eval.py",
                "training/samtaleanalyse_training/evaluate.py", "benchmarks/external_checks.py"):
        text = (root / rel).read_text(encoding="utf-8")
        assert "def _prf(" not in text and "def _f1(" not in text, rel
        assert "2 * prec * rec" not in text and "2 * p * r" not in text, rel
