"""A cheap look at swap augmentation (augment_swaps.py, ``reencode --augment-swaps``) without any encoder: the
lexical heads (character n-grams and cue features, the recipe of ``--config``, dense block off) fitted with and
without the swapped copies of the train conversations, then the robustness check's flip rates on the test split.
The shipped model's dense block is not in it: the full check is ``reencode --augment-swaps`` and ``robustness``.

    PYTHONPATH=src:training .venv/bin/python benchmarks/swap_augment_lexical.py \
        [--config training/configs/heads-finetuned.toml] [--out benchmarks/results/swap_augment_lexical.md]

About two minutes on two cores.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from samtaleanalyse.classify.predict import TurnClassifier
from samtaleanalyse.corpus import load_corpus
from samtaleanalyse_training.augment_swaps import swap_examples
from samtaleanalyse_training.config import TrainConfig
from samtaleanalyse_training.data import examples_of
from samtaleanalyse_training.fitting import fit, zero_encoder
from samtaleanalyse_training.robustness import invariance, run_pipeline
from samtaleanalyse_training.swaps import SWAP_TYPES


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="training/configs/heads-finetuned.toml")
    ap.add_argument("--corpus", default="data/annotated/conversations")
    ap.add_argument("--out", default="benchmarks/results/swap_augment_lexical.md")
    args = ap.parse_args()
    convs = load_corpus(args.corpus)
    rows = examples_of(convs)
    test = [c for c in convs if c.split == "test" and not c.augmented]
    swapped, counts = swap_examples(convs)
    results: dict[str, Any] = {}
    for name, ex in (("without", rows), ("with swapped copies", rows + swapped)):
        t = time.time()
        cfg = TrainConfig.from_file(args.config)
        cfg.features = {**cfg.features, "dense": False}
        model, dev = fit(cfg, ex)
        clf = TurnClassifier(model, zero_encoder())
        results[name] = {"dev": dev, "inv": invariance(clf, test, run_pipeline(clf, test), SWAP_TYPES)}
        print(f"{name}: {time.time() - t:.0f} s", flush=True)
    names = list(results)
    lines = ["# Swap augmentation, lexical heads only", "",
             f"`benchmarks/swap_augment_lexical.py --config {args.config}`: heads on character n-grams and cue features "
             "only (no encoder), fitted on the corpus's train split without and with the swapped copies "
             f"({len(swapped)} turns: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "); flip rates of the "
             f"robustness check on the test split ({len(test)} conversations; n: those a swap changes). An indication "
             "for the n-gram and cue part of the heads only: the shipped model's dense block is not in it.", "",
             "| dev macro-F1 | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for task in ("attitude", "behaviours"):
        lines.append(f"| {task} | " + " | ".join(f"{results[n]['dev'][task]['macro_f1']:.3f}" for n in names) + " |")
    # a finding can flip with no turn label changing (a probability crossing its rule's min_confidence)
    lines += ["", "| swap | n | findings flip, " + " | findings flip, ".join(names) + " | of them without a label "
              "change, " + " | of them without a label change, ".join(names) + " | turn flip, "
              + " | turn flip, ".join(names) + " |", "|---|---:|" + "---:|" * (3 * len(names))]
    for s in SWAP_TYPES:
        r = {n: results[n]["inv"][s]["rows"].get("all", {}) for n in names}
        quiet = {n: results[n]["inv"][s]["findings_flips_without_label_change"] for n in names}
        lines.append(f"| {s} | {r[names[0]].get('n', 0)} | " + " | ".join(_pct(r[n].get("findings_flip")) for n in names)
                     + " | " + " | ".join(str(quiet[n]) for n in names)
                     + " | " + " | ".join(_pct(r[n].get("turn_flip")) for n in names) + " |")
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
