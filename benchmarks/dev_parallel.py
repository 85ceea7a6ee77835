"""Cross-language agreement of findings on a parallel set that may be tuned on (issue 13).

The parallel set of `data/annotated/eval/parallel/` is evaluation only: nothing may be chosen on it, so its 90 %
target could only ever be read, never worked towards. This check builds a dev-side parallel set from the third
draw of translated copies (`data/annotated/translated/draw-2028/`: 30 train conversations written again in the
other four languages, used by no shipped model). The heads are refitted with the model's own recipe (its
encoder, its `reencode` training data and row weights) on every row except those 30 conversations and their
copies, so the heads have seen none of the five language versions of each group; then each group goes through
the whole pipeline (classifier, rules) and its findings are compared across the languages, as `samtaleanalyse
robustness` does for the eval set. The encoder is the model's own, fine-tuned on the corpus's train split with the
30 sources in it: a dev figure, not a held-out one.

    .venv/bin/python benchmarks/dev_parallel.py [--model models/turns-e5-int8] [--real-text-weight W] [--markdown FILE]

Appends a section to `benchmarks/results/dev_parallel.md`: agreement overall and per channel, each language's
share of groups where it has the group's most common findings, the codes that differ most often and in which
language, and the refitted heads' corpus dev macro-F1 (30 train conversations fewer than the model had). About
two minutes on two cores; onnx-int8 models refitted by `reencode` only.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "turns-e5-int8"
DRAW = ROOT / "data" / "annotated" / "translated" / "draw-2028"
LABELS = ROOT / "data" / "annotated" / "external"


def parallel_groups(corpus: Path, draw: Path) -> list[Any]:
    """The draw's copies and their source conversations, each tagged with its source id as ``parallel_id``."""
    from samtaleanalyse.corpus import load_corpus
    from samtaleanalyse_training.augment_asr import original_id
    from samtaleanalyse_training.translated import load_translated

    copies = load_translated(corpus, draw)
    by_id = {c.id: c for c in load_corpus(corpus)}
    sources = sorted({original_id(c.id) for c in copies})
    return ([replace(by_id[s], extra=(("parallel_id", s),)) for s in sources]
            + [replace(c, extra=(("parallel_id", original_id(c.id)),)) for c in copies])


def odd_codes(disagreements: Sequence[dict[str, Any]], languages: Sequence[str]) -> tuple[Counter, Counter]:
    """How often each code differs within a group, and (code, language) for the languages on the smaller side."""
    codes: Counter = Counter()
    odd: Counter = Counter()
    for d in disagreements:
        sets = {lang: set(d[lang]) for lang in languages}
        for code in set().union(*sets.values()):
            have = [lang for lang in languages if code in sets[lang]]
            if len(have) == len(languages):
                continue
            codes[code] += 1
            lacking = [lang for lang in languages if code not in sets[lang]]
            for lang in (have if len(have) <= len(lacking) else lacking):
                odd[(code, lang)] += 1
    return codes, odd


def run(model: Path, draw: Path, real_text_weight: float | None = None) -> dict[str, Any]:
    from samtaleanalyse.classify.model_meta import read_spec
    from samtaleanalyse.classify.onnx_encoder import ENCODER_KIND, OnnxE5Encoder
    from samtaleanalyse.classify.predict import TurnClassifier
    from samtaleanalyse_training.augment_asr import original_id
    from samtaleanalyse_training.finetune.export import refit_heads, with_label_rules
    from samtaleanalyse_training.finetune.reencode import TextVectors, heads_examples, recipe_options, text_vectors
    from samtaleanalyse_training.robustness import parallel_consistency

    spec = read_spec(model)
    meta = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
    reencoded = meta.get("training", {}).get("reencoded")
    if spec.encoder.kind != ENCODER_KIND or not reencoded:
        raise SystemExit(f"{model}: dev_parallel refits an {ENCODER_KIND!r} model made by `reencode`")
    corpus = ROOT / meta["training"].get("corpus", "data/annotated/conversations")
    config = meta["training"].get("config", {})
    options = recipe_options(reencoded, LABELS)
    recorded = options.pop("real_text_weight")
    weight = recorded if real_text_weight is None else real_text_weight
    if weight != 1.0 and not options["twitter_train"]:
        raise SystemExit(f"{model}'s recipe has no Twitter turns to weigh (--real-text-weight {weight:g})")
    groups = parallel_groups(corpus, draw)
    left_out = {dict(c.extra)["parallel_id"] for c in groups}
    rows, _ = heads_examples(corpus, seed=int(config.get("seed", 13)), log=lambda m: None, **options)
    # test rows are never encoded here: the fit reads train, its thresholds dev
    fit_rows = [e for e in rows if original_id(e.conversation_id) not in left_out and e.split != "test"]
    encoder = OnnxE5Encoder(spec.encoder.path, spec.encoder.sha256, num_threads=None, layers=spec.encoder.layers)
    vectors = TextVectors(text_vectors(fit_rows, encoder, log=lambda m: None), encoder.name, encoder.dim,
                          encoder.version)
    heads, dev = refit_heads(config.get("heads_config") or None, fit_rows, vectors, seed=config.get("seed"),
                             row_weights={"real_text": weight} if weight != 1.0 else None)
    # the model's guideline rules on the refitted heads' labels, as the pipeline applies them
    heads = with_label_rules(heads, meta.get("tasks", {}).get("behaviours", {}).get("label_rules") or ())
    result = parallel_consistency(TurnClassifier(heads, encoder), groups)
    codes, odd = odd_codes(result["disagreements"], result["languages"])
    return {"model": f"{meta.get('name')}@{meta.get('version')}", "draw": str(draw.relative_to(ROOT)),
            "real_text_weight": weight,
            "left_out_conversations": len(left_out),
            "left_out_rows": sum(original_id(e.conversation_id) in left_out for e in rows),
            "dev": {t: m["macro_f1"] for t, m in dev.items()}, "parallel": result,
            "codes": codes.most_common(), "odd": [(c, l, n) for (c, l), n in odd.most_common()]}


def markdown(res: dict[str, Any], started: datetime) -> str:
    p = res["parallel"]
    langs = p["languages"]
    lines = [f"## {started:%Y-%m-%d %H:%M} UTC, {platform.node() or 'vm'}, {os.cpu_count()} cores, python "
             f"{platform.python_version()}", "",
             f"`benchmarks/dev_parallel.py`: `{res['model']}`'s recipe (Twitter turns weighted "
             f"{res['real_text_weight']:g}) refitted without the "
             f"{res['left_out_conversations']} source conversations of `{res['draw']}` ({res['left_out_rows']} rows "
             f"left out); corpus dev macro-F1 of the refitted heads: attitude {res['dev'].get('attitude')}, "
             f"behaviours {res['dev'].get('behaviours')}. Groups missing a language: "
             f"{', '.join(p['incomplete']) or 'none'}.", "",
             "| group | n | findings agree | score agree | mean score spread | "
             + " | ".join(f"{lang} with majority" for lang in langs) + " |",
             "|---|---|---|---|---|" + "---|" * len(langs)]
    for name, row in p["rows"].items():
        lines.append(f"| {name} | {row['n']} | {row['findings_agree']:.1%} | {row['score_agree']:.1%} | "
                     f"{row['mean_score_spread']} | " + " | ".join(f"{row[f'{lang}_with_majority']:.1%}"
                                                                 for lang in langs) + " |")
    lines += ["", "Codes that differ within a group (groups): "
              + (", ".join(f"`{c}` {n}" for c, n in res["codes"]) or "none") + ".",
              "Language on the smaller side of a differing code: "
              + (", ".join(f"`{c}` {lang} {n}" for c, lang, n in res["odd"][:12]) or "none") + ".", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--draw", type=Path, default=DRAW)
    ap.add_argument("--markdown", type=Path, default=ROOT / "benchmarks" / "results" / "dev_parallel.md")
    ap.add_argument("--real-text-weight", type=float, default=None,
                    help="weigh the Twitter train turns so instead of as the model's recipe did")
    ap.add_argument("--json", type=Path, default=None, help="also write the full result here")
    args = ap.parse_args(argv)
    started = datetime.now(timezone.utc)
    res = run(args.model.resolve(), args.draw.resolve(), args.real_text_weight)
    text = markdown(res, started)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        head = "" if args.markdown.exists() else (
            "# Findings agreement across languages on a dev-side parallel set (benchmarks/dev_parallel.py)\n\n")
        with args.markdown.open("a", encoding="utf-8") as fh:
            fh.write(head + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
