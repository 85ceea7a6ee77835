"""Does extra training data help? Heads refitted on a frozen encoder with and without ``[extra_data]``
(training/samtaleanalyse_training/extra_data.py), scored on the corpus dev split per language and channel and
on the dev part of the labelled Twitter threads. Test is not read.

    SAMTALEANALYSE_EMBED_CACHE=... PYTHONPATH=src:training .venv/bin/python benchmarks/extra_training_data.py \
        [--config training/configs/heads-finetuned.toml] [--encoder-of models/turns-e5-qat] \
        [--variants base,twitter,asr,both] [--out benchmarks/results/extra_training_data.md]

The encoder is the one ``--encoder-of``'s metadata names, frozen (the shipped model's by default, whose corpus
vectors the embedding cache holds); new texts (the ASR copies) are encoded once and cached.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from samtaleanalyse.classify.loading import encoder_for
from samtaleanalyse.conversation import CHANNELS, LANGUAGES
from samtaleanalyse_training.config import TrainConfig
from samtaleanalyse_training.data import examples_of, load_examples
from samtaleanalyse_training.evaluate import score_predictions
from samtaleanalyse_training.extra_data import extra_examples
from samtaleanalyse_training.fitting import fit
from samtaleanalyse_training.real_text import twitter_conversations

VARIANTS = {"base": {}, "twitter": {"twitter_train": True}, "asr": {"asr_calls": True},
            "both": {"twitter_train": True, "asr_calls": True}}


def _f(m: dict[str, Any], task: str, lang: str | None = None) -> str:
    t = m.get(task) or {}
    v = t.get("macro_f1") if lang is None else t.get("per_language", {}).get(lang)
    return f"{v:.3f}" if isinstance(v, (int, float)) else "–"


def run_variant(name: str, cfg: TrainConfig, corpus: Sequence[Any], tw_dev: Sequence[Any], encoder: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    cfg.extra_data = VARIANTS[name]
    extra = extra_examples(cfg)
    t0 = time.time()
    model, dev = fit(cfg, list(corpus) + extra, encoder)
    dev_rows = [e for e in corpus if e.split == "dev"]
    channels = {ch: score_predictions(model, [e for e in dev_rows if e.channel == ch], encoder) for ch in CHANNELS}
    return {"variant": name, "extra_turns": len(extra), "dev": dev, "channels": channels,
            "twitter_dev": score_predictions(model, tw_dev, encoder), "seconds": round(time.time() - t0)}


def markdown(results: Sequence[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = ["# Extra training data: Twitter train part and ASR-noised call copies", "",
             f"`benchmarks/extra_training_data.py --config {args.config} --encoder-of {args.encoder_of} "
             f"--variants {args.variants}`; heads refitted on the frozen encoder of `{args.encoder_of}` "
             f"(recipe `{args.config}`). Corpus dev split and Twitter dev part only (test not read). With a "
             "recipe that tunes thresholds on dev the dev figures are tuned-on, but alike for every variant. "
             "Timings on a shared, contended 2-core machine.", "",
             "| variant | extra train turns | corpus dev attitude | corpus dev behaviours | behaviours "
             + " / ".join(LANGUAGES) + " | chat att / beh | call att / beh | email att / beh | "
             "Twitter dev attitude | Twitter dev behaviours | fit+score s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ch = r["channels"]
        lines.append(f"| {r['variant']} | {r['extra_turns']} | {_f(r['dev'], 'attitude')} | {_f(r['dev'], 'behaviours')} | "
                     + " / ".join(_f(r["dev"], "behaviours", l) for l in LANGUAGES) + " | "
                     + " | ".join(f"{_f(ch[c], 'attitude')} / {_f(ch[c], 'behaviours')}" for c in CHANNELS)
                     + f" | {_f(r['twitter_dev'], 'attitude')} | {_f(r['twitter_dev'], 'behaviours')} | {r['seconds']} |")
    lines += ["", "Attitude per language (corpus dev): " + "; ".join(
        f"{r['variant']} " + " / ".join(_f(r["dev"], "attitude", l) for l in LANGUAGES) for r in results), ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="training/configs/heads-finetuned.toml")
    ap.add_argument("--encoder-of", default="models/turns-e5-qat")
    ap.add_argument("--variants", default="base,twitter,asr")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/extra_training_data.md"))
    args = ap.parse_args(argv)
    cfg = TrainConfig.from_file(args.config)
    encoder = encoder_for(args.encoder_of, num_threads=2)
    corpus = load_examples(cfg.corpus)
    tw_dev = examples_of([c for c in twitter_conversations() if c.split == "dev"])
    results = []
    for name in args.variants.split(","):
        results.append(run_variant(name, cfg, corpus, tw_dev, encoder))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown(results, args), encoding="utf-8")  # after each variant: partial results survive
        print(markdown(results, args).splitlines()[-3], flush=True)
        if hasattr(encoder, "save_cache"):
            encoder.save_cache()  # the new texts' vectors, before the next (slower) variant
    print(markdown(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
