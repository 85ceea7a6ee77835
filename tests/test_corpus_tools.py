"""Corpus tools: validation, statistics, splits, Label Studio round trip; and the real corpus itself."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from samtaleanalyse.corpus import (assign_splits, corpus_stats, export_tasks, import_annotations, load_corpus,
                                   shortfalls, validate_corpus, write_corpus)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"
SMALL = Path(__file__).parent / "data" / "corpus" / "small.jsonl"


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(SMALL, d / "small.jsonl")
    return d


def _rewrite(path: Path, fn) -> None:
    rows = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]
    rows = fn(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_small_corpus_is_valid(tmp_path):
    convs, problems = validate_corpus(_copy(tmp_path))
    assert len(convs) == 2
    assert [str(p) for p in problems if p.severity == "error"] == []


@pytest.mark.parametrize("mutate,expected", [
    (lambda r: r[0]["turns"][0].update(attitude="angry") or r, "needs an attitude"),
    (lambda r: r[0]["turns"][1].update(behaviours=["apologise"]) or r, "unknown behaviour"),
    (lambda r: r[0]["turns"][1].update(attitude="neutral") or r, "agent turn has an attitude"),
    (lambda r: r[0]["turns"][2].update(text="  ") or r, "empty text"),
    (lambda r: r[0].update(language="no") or r, "language 'no'"),
    (lambda r: r[0].pop("split") and r, "no split"),
    (lambda r: r[1].update(augmented=True) or r, "augmented conversation in test"),
    (lambda r: r + [dict(r[0])], "duplicate id"),
    (lambda r: r + [dict(r[0], id="t-3", split="test")], "same text as t-1"),
])
def test_validation_catches(tmp_path, mutate, expected):
    d = _copy(tmp_path)
    _rewrite(d / "small.jsonl", mutate)
    _, problems = validate_corpus(d)
    assert any(expected in p.message and p.severity == "error" for p in problems), [str(p) for p in problems]


def test_near_duplicate_across_splits_is_an_error(tmp_path):
    d = _copy(tmp_path)

    def add_twin(rows):
        twin = json.loads(json.dumps(rows[0]))
        twin.update(id="t-1b", split="test")
        twin["turns"][2]["text"] = "Storgata 7"  # one word changed
        return rows + [twin]

    _rewrite(d / "small.jsonl", add_twin)
    _, problems = validate_corpus(d)
    msgs = [p.message for p in problems]
    assert any("near-duplicate of t-1 (train) across splits" in m for m in msgs), msgs


def test_split_is_stratified_deterministic_and_keeps_twins_together():
    convs = load_corpus(SMALL)
    many = []
    for k in range(60):
        for c in convs:
            text_turns = tuple(replace(t, turn=replace(t.turn, text=f"{t.turn.text} {k} variant {k * 7}"))
                               for t in c.turns)
            many.append(replace(c, id=f"{c.id}-{k}", split=None, turns=text_turns))
    a = assign_splits(many, seed=1)
    b = assign_splits(many, seed=1)
    assert [c.split for c in a] == [c.split for c in b]
    for lang in ("nb", "sv"):
        splits = [c.split for c in a if c.language == lang]
        assert 0.6 <= splits.count("train") / len(splits) <= 0.8
        assert splits.count("test") >= 5 and splits.count("dev") >= 5
    kept = assign_splits(load_corpus(SMALL))
    assert [c.split for c in kept] == ["train", "test"]  # stored splits never move


def test_stats_and_shortfalls():
    stats = corpus_stats(load_corpus(SMALL))
    assert stats["attitudes"]["nb"] == {"hostile": 1, "sceptical": 0, "loyal": 0, "neutral": 1}
    assert stats["behaviours"]["sv"]["thanks"] == 1
    assert stats["conversations"]["all"]["conversations"] == 2
    assert any("nb: 1 conversations, need 100" in s for s in shortfalls(stats))


def test_labelstudio_round_trip(tmp_path):
    d = _copy(tmp_path)
    convs = load_corpus(d)
    tasks = export_tasks(convs)
    assert len(tasks) == 8  # the system turn is not a task
    t0 = tasks[0]
    assert t0["data"]["role"] == "customer" and t0["predictions"][0]["result"][1]["value"]["choices"] == ["hostile"]
    # An annotator corrects two turns and cancels one annotation
    tasks[0]["annotations"] = [{"id": 1, "result": [{"from_name": "attitude", "value": {"choices": ["sceptical"]}}]}]
    tasks[1]["annotations"] = [{"id": 2, "result": [{"from_name": "behaviours", "value": {"choices": ["apology", "empathy", "question"]}}]}]
    tasks[2]["annotations"] = [{"id": 3, "was_cancelled": True, "result": []}]
    tasks[3]["annotations"] = [{"id": 4, "result": [{"from_name": "behaviours", "value": {"choices": ["gift"]}}]}]
    new, report = import_annotations(tasks, convs)
    assert report.updated == 2
    assert any("unknown behaviour" in s for s in report.skipped) and any("no annotation" in s for s in report.skipped)
    write_corpus(new)
    again = load_corpus(d)
    assert again[0].turns[0].attitude == "sceptical"
    assert again[0].turns[1].behaviours == ("apology", "empathy", "question")
    assert again[1] .turns[0].attitude == "loyal"


def test_cli_data_commands(tmp_path):
    d = _copy(tmp_path)
    run = lambda *a: subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", "data", *a], capture_output=True,
                                    text=True, cwd=ROOT)
    assert run("validate", str(d)).returncode == 0
    assert run("validate", str(d), "--counts").returncode == 1
    p = run("stats", str(d), "--markdown")
    assert p.returncode == 0 and "| nb |" in p.stdout
    out = tmp_path / "tasks.json"
    assert run("export-labelstudio", str(d), "--out", str(out), "--ids", "t-2").returncode == 0
    assert len(json.loads(out.read_text())) == 4 and (tmp_path / "tasks.config.xml").exists()


# The real corpus: it must validate and meet the counts the corpus issue asks for.
def test_real_corpus_validates_and_meets_counts():
    convs, problems = validate_corpus(CORPUS)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert shortfalls(corpus_stats(convs)) == []


def test_cohen_kappa_known_values():
    from samtaleanalyse.corpus.agreement import cohen_kappa

    # Textbook example: 50 items, observed agreement 0.7, expected 0.5 -> kappa 0.4
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["a", "b"], ["a", "b"]) == 1.0


def test_agreement_between_two_labellings(tmp_path):
    from samtaleanalyse.corpus.agreement import agreement

    first = load_corpus(SMALL)
    d = _copy(tmp_path)
    _rewrite(d / "small.jsonl", lambda r: r[0]["turns"][1].update(behaviours=["apology"]) or r)
    result = agreement(first, load_corpus(d))
    assert result["apology"]["kappa"] == 1.0
    assert result["question"]["agreement"] == pytest.approx(3 / 4)
    assert result["attitude"]["kappa"] == 1.0


def test_agreement_sample_matches_the_corpus_text():
    from samtaleanalyse.corpus.agreement import agreement

    second = load_corpus(ROOT / "data" / "annotated" / "agreement" / "second_annotator.jsonl")
    result = agreement(load_corpus(CORPUS), second)  # raises if any text differs
    assert len(second) == 40 and result["attitude"]["n"] > 100
