"""Batch scaling: wall time and peak memory of `samtaleanalyse score` for growing batches.

Builds a realistic batch from the annotated corpus's test split (90 conversations in five languages), made
unique by perturbing every copy (bench_batch.py: other names, numbers, agent and team ids, word order), split over files of 1,000 conversations with a few broken lines and repeated conversations
mixed in, and scores it in a subprocess that reports its own peak RSS. Each size runs in a fresh output
folder. Memory should stay flat as the batch grows; time should grow linearly. `perf.py --scaling` runs the
same batches and adds the memory of the worker processes (sampled over the process tree).

    .venv/bin/python benchmarks/batch_scaling.py --sizes 1000 10000 100000 --no-model
    .venv/bin/python benchmarks/batch_scaling.py --sizes 1000 10000 --workers 1 2
    .venv/bin/python benchmarks/batch_scaling.py --sizes 200 --smoke        # what CI runs: no figures kept

Results are appended to benchmarks/results/batch_scaling.md with the machine, date and versions.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import perturb, test_split  # noqa: E402  (one perturbation for every benchmark)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "batch_scaling.md"
MEASURED = """
import sys
from pathlib import Path
from samtaleanalyse.cli import main
peak = Path(sys.argv.pop(1))
try:
    main()
finally:
    # VmHWM is this process's own peak; ru_maxrss would carry the parent's over fork and exec.
    status = Path("/proc/self/status").read_text()
    peak.write_text(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
"""


def build(folder: Path, size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    source = test_split()
    seen: set[tuple[str, int, str]] = set()
    per_file = 1000
    for f in range(0, size, per_file):
        lines = []
        for n in range(f, min(size, f + per_file)):
            lines.append(json.dumps(perturb(source[n % len(source)], n, rng, seen=seen), ensure_ascii=False))
            if n % 500 == 17:
                lines.append("{broken json")
            if n % 700 == 3:
                lines.append(lines[-1] if not lines[-1].startswith("{broken") else lines[-2])  # a repeat
        (folder / f"export_{f // per_file:04d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(inputs: Path, out: Path, workers: int, no_model: bool) -> dict:
    peak = out.parent / f"{out.name}.peak"
    cmd = [sys.executable, "-c", MEASURED, str(peak), "score", str(inputs), "--out", str(out), "--workers",
           str(workers), "-q"] + (["--no-model"] if no_model else [])
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - started
    summary = json.loads((out / "summary.json").read_text())
    if proc.returncode not in (0, 1):
        raise SystemExit(f"score failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {"wall": wall, "peak_mib": int(peak.read_text()) / 1024, "summary": summary}


def machine() -> str:
    import numpy

    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    from samtaleanalyse import __version__

    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, samtaleanalyse {__version__}, "
            f"numpy {numpy.__version__}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1])
    ap.add_argument("--no-model", action="store_true", help="read, identify languages, write (no classifiers)")
    ap.add_argument("--smoke", action="store_true", help="check the runner works; keep no figures")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            inputs = Path(tmp) / f"in_{size}"
            inputs.mkdir()
            build(inputs, size)
            for workers in args.workers:
                out = Path(tmp) / f"out_{size}_{workers}"
                r = run(inputs, out, workers, args.no_model)
                s = r["summary"]
                rows.append((size, workers, r["wall"], s["scored"], s["errors"], s["duplicates"], r["peak_mib"]))
                print(f"{size:>7} conversations, {workers} worker(s): {r['wall']:8.1f} s, "
                      f"{s['scored'] / r['wall']:7.1f} conv/s, peak RSS {r['peak_mib']:6.0f} MiB "
                      f"(scored {s['scored']}, errors {s['errors']}, duplicates {s['duplicates']})", flush=True)
                shutil.rmtree(out)
            shutil.rmtree(inputs)
    if args.smoke:
        assert all(r[3] > 0 for r in rows)
        return 0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    mode = "languages only (--no-model)" if args.no_model else "full pipeline with the default model"
    lines = [f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {mode}\n", f"Machine: {machine()}\n",
             "| conversations | workers | wall s | conv/s | peak RSS MiB | errors | duplicates |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {n:,} | {w} | {wall:.1f} | {sc / wall:.1f} | {peak:.0f} | {err} | {dup} |"
              for n, w, wall, sc, err, dup, peak in rows]
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
