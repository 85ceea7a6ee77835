"""What the guideline rules on the behaviour labels (``classify/label_rules.py``) do on the data they may be chosen
on: the corpus's train and dev splits and the train and dev parts of the labelled Twitter threads. Never test.

    .venv/bin/python benchmarks/label_rules.py [--model models/turns-e5-int8] [--markdown FILE]

For each set: behaviours macro-F1 of the heads' labels without rules, with each rule alone and with all of them,
the F1 of apology and empathy, and how many turns each rule changes. The heads' probabilities are computed once
per set; only the labels differ. Appends a section to ``benchmarks/results/label_rules.md``.
"""
from __future__ import annotations

import argparse
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "label_rules.md"


def label_f1(rows: Sequence[Any], proba: np.ndarray, thresholds: np.ndarray, rules: Sequence[str],
             label: str) -> float:
    from samtaleanalyse.classify.label_rules import apply_rules
    from samtaleanalyse.labels import BEHAVIOURS

    j = BEHAVIOURS.index(label)
    tp = fp = fn = 0
    for r, p in zip(rows, proba):
        labels, _ = apply_rules(rules, "behaviours", [l for l, x, t in zip(BEHAVIOURS, p, thresholds) if x >= t], r.text)
        got, gold = BEHAVIOURS[j] in labels, label in r.behaviours
        tp, fp, fn = tp + (got and gold), fp + (got and not gold), fn + (gold and not got)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def changed(rows: Sequence[Any], proba: np.ndarray, thresholds: np.ndarray, rules: Sequence[str]) -> int:
    from samtaleanalyse.classify.label_rules import apply_rules
    from samtaleanalyse.labels import BEHAVIOURS

    return sum(bool(apply_rules(rules, "behaviours", [l for l, x, t in zip(BEHAVIOURS, p, thresholds) if x >= t],
                                r.text)[1]) for r, p in zip(rows, proba))


def measure(model_dir: Path) -> list[dict[str, Any]]:
    from samtaleanalyse.classify.label_rules import RULES
    from samtaleanalyse.classify.loading import load_classifier
    from samtaleanalyse_training.data import examples_of, load_examples
    from samtaleanalyse_training.evaluate import behaviour_report, predict_examples
    from samtaleanalyse_training.real_text import twitter_conversations

    clf = load_classifier(model_dir)
    sets: dict[str, list[Any]] = {}
    corpus = load_examples(ROOT / "data" / "annotated" / "conversations")
    twitter = twitter_conversations(heldout=False)
    for part in ("train", "dev"):
        sets[f"corpus {part}"] = [r for r in corpus if r.split == part and r.role == "agent"]
        sets[f"Twitter {part}"] = [r for r in examples_of([c for c in twitter if c.split == part]) if r.role == "agent"]
    thresholds = clf.model.heads["behaviours"].thresholds
    variants: list[tuple[str, tuple[str, ...]]] = [("none", ()), *((r, (r,)) for r in RULES), ("all", RULES)]
    out = []
    for name, rows in sets.items():
        proba = predict_examples(clf.model, rows, clf.encoder, "behaviours")
        for variant, rules in variants:
            out.append({"set": name, "turns": len(rows), "rules": variant,
                        "macro_f1": behaviour_report(rows, proba, thresholds, rules)["macro_f1"],
                        "apology": label_f1(rows, proba, thresholds, rules, "apology"),
                        "empathy": label_f1(rows, proba, thresholds, rules, "empathy"),
                        "changed": changed(rows, proba, thresholds, rules) if rules else 0})
    return out


def markdown(rows: list[dict[str, Any]], model: str) -> str:
    lines = [f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node() or 'machine'}, "
             f"python {platform.python_version()}\n",
             f"`benchmarks/label_rules.py --model {model}`: behaviours on the data the rules may be chosen on "
             "(never test); the heads' probabilities once per set, the labels with and without the rules.\n",
             "| set | turns | rules | macro-F1 | apology F1 | empathy F1 | turns changed |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['set']} | {r['turns']} | {r['rules']} | {r['macro_f1']:.3f} | {r['apology']:.3f} | "
              f"{r['empathy']:.3f} | {r['changed']} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "turns-e5-int8")
    ap.add_argument("--markdown", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    text = markdown(measure(args.model), args.model.name if args.model.is_absolute() else str(args.model))
    sys.stdout.write(text)
    if not args.markdown.exists():
        args.markdown.write_text("# Guideline rules on the behaviour labels (benchmarks/label_rules.py)\n",
                                 encoding="utf-8")
    with args.markdown.open("a", encoding="utf-8") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
