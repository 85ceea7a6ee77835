"""The command line as a user runs it: real subprocesses, real files, exit statuses."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", *args], capture_output=True,
                          input=stdin.decode() if stdin else None, text=True, cwd=ROOT)


def test_score_examples(tmp_path):
    out = tmp_path / "out"
    proc = run("score", "examples", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(l) for l in (out / "conversations.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 9
    assert {l["language"] for l in lines} == {"nb", "nn", "da", "sv", "en"}
    turn = lines[0]["turns"][0]
    assert {"index", "speaker", "text", "language"} <= set(turn)
    assert (out / "errors.jsonl").read_text() == ""
    assert "9 conversations scored" in proc.stdout


def test_score_with_failures_exits_1_and_keeps_the_rest(tmp_path):
    out = tmp_path / "out"
    proc = run("score", "tests/data/bad", "examples/chats", "--out", str(out))
    assert proc.returncode == 1
    assert len((out / "errors.jsonl").read_text().splitlines()) == 6
    ids = {json.loads(l)["id"] for l in (out / "conversations.jsonl").read_text().splitlines()}
    assert {"nb-chat-1001", "ok-1"} <= ids
    assert "errors.jsonl" in proc.stderr


def test_nothing_readable_exits_3(tmp_path):
    proc = run("score", "tests/data/bad/empty.json", "--out", str(tmp_path / "o"))
    assert proc.returncode == 3


def test_stdin(tmp_path):
    data = (ROOT / "examples" / "chats" / "chats.jsonl").read_bytes()
    proc = run("score", "-", "--out", str(tmp_path / "o"), stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "o" / "conversations.jsonl").read_text().splitlines()) == 2


def test_speaker_option_maps_unknown_label(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("Kunde: Hei, fakturaen min er feil\nKari: Hei! Det ser jeg på.\nKari: Kari her igjen.\n", encoding="utf-8")
    assert run("score", str(p), "--out", str(tmp_path / "o")).returncode == 3
    assert run("score", str(p), "--out", str(tmp_path / "o"), "--speaker", "Kari=agent").returncode == 0


def test_validate_prints_summary_and_errors():
    proc = run("validate", "tests/data/bad")
    assert proc.returncode == 1
    assert "3 conversations valid, 6 inputs failed, 1 warnings" in proc.stdout
    assert "E303" in proc.stdout and "broken_lines.jsonl, line 2" in proc.stdout


def test_help_has_examples():
    for cmd in ("score", "validate"):
        proc = run(cmd, "--help")
        assert proc.returncode == 0 and "Example" in proc.stdout


def test_bad_option_is_usage_error(tmp_path):
    proc = run("score", "examples", "--out", str(tmp_path / "o"), "--speaker", "nonsense")
    assert proc.returncode == 2 and "NAME=VALUE" in proc.stderr


def test_score_adds_turn_labels_from_the_bundled_model(tmp_path):
    out = tmp_path / "out"
    proc = run("score", "examples/chats/chats.jsonl", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    conv = json.loads((out / "conversations.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert conv["model"].startswith("turns-e5-int8@")
    for turn in conv["turns"]:
        assert isinstance(turn["uncertain"], bool)
        if turn["speaker"] == "customer":
            assert turn["attitude"] in turn["attitude_scores"]
            assert abs(sum(turn["attitude_scores"].values()) - 1) < 1e-2
        else:
            assert set(turn["behaviours"]) <= set(turn["behaviour_scores"])
    # "Unbelievable. I'm cancelling and I'll be telling everyone I know." is as hostile as it gets
    assert conv["turns"][-1]["attitude"] == "hostile"


def test_missing_model_says_how_to_train_one(tmp_path):
    proc = run("score", "examples", "--out", str(tmp_path / "o"), "--model", str(tmp_path / "nomodel"))
    assert proc.returncode == 2
    assert "samtaleanalyse train --config" in proc.stderr and "--no-model" in proc.stderr
    assert run("score", "examples", "--out", str(tmp_path / "o"), "--no-model").returncode == 0
