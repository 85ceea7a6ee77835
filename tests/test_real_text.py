"""real_text.py / `evaluate-real-text`: threads built from a dev.json and label files, findings counting, the
command's checks. Invented threads in tests/data/real_text (the real texts stay in ../shared)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from samtaleanalyse_training import real_text  # noqa: E402
from samtaleanalyse_training.data import examples_of  # noqa: E402
from samtaleanalyse_training.external.ibm_twitter import load_threads, split_of  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "real_text"


def test_only_labelled_threads_with_their_part_and_labels():
    convs = real_text.twitter_conversations([DATA / "labels.pass_a.jsonl"], DATA / "threads.json")
    parts = {t.session_id: split_of(t) for t in load_threads(DATA / "threads.json")}
    assert [c.id for c in convs] == ["en-tw-fakeA", "en-tw-fakeB", "en-tw-fakeD"]  # fakeC has no labels
    assert [c.split for c in convs] == [parts["fakeA"], parts["fakeB"], parts["fakeD"]] == ["test", "test", "train"]
    a = convs[0]
    assert (a.language, a.channel) == ("en", "chat") and len(a.turns) == 4  # the closing reply is turn 3
    assert a.turns[1].behaviours == ("apology", "question") and a.turns[3].behaviours == ("thanks", "solution")
    rows = examples_of(convs)
    assert {(r.conversation_id, r.turn_index, r.role) for r in rows} >= {("en-tw-fakeB", 0, "customer"),
                                                                         ("en-tw-fakeB", 1, "agent")}
    assert all(r.channel == "chat" and r.language == "en" and r.origin == "real_text" for r in rows)
    assert [r.attitude for r in rows if r.conversation_id == "en-tw-fakeB" and r.role == "customer"] == ["hostile"]


def test_test_json_threads_are_heldout_and_never_train():
    from samtaleanalyse_training.external.ibm_twitter import HELDOUT

    convs = real_text.twitter_conversations([DATA / "labels.pass_a.jsonl", DATA / "ibm_twitter_test.pass_a.jsonl"],
                                            DATA / "threads.json", DATA / "heldout_threads.json")
    held = [c for c in convs if c.split == HELDOUT]
    assert [c.id for c in held] == ["en-tw-fakeH1", "en-tw-fakeH2"]  # fakeH3 has no labels
    assert all(split_of(t) == "train" for t in load_threads(DATA / "heldout_threads.json")[:2])  # by hash: train
    assert held[0].turns[0].attitude == "hostile" and held[1].turns[1].behaviours == ("solution",)
    assert {c.id for c in convs if c.split == "train"} == {"en-tw-fakeD"}
    assert HELDOUT in real_text.PARTS


def test_training_never_reads_test_json(tmp_path, monkeypatch):
    labels = [DATA / "labels.pass_a.jsonl", DATA / "ibm_twitter_test.pass_a.jsonl"]
    absent = tmp_path / "test.json"  # reading it would fail
    convs = real_text.twitter_conversations(labels, DATA / "threads.json", absent, heldout=False)
    assert [c.id for c in convs] == ["en-tw-fakeA", "en-tw-fakeB", "en-tw-fakeD"]
    with pytest.raises(FileNotFoundError):
        real_text.twitter_conversations(labels, DATA / "threads.json", absent)
    # the training side (extra_data, reencode --twitter-train) asks for no held-out threads
    from samtaleanalyse_training import extra_data

    seen = {}
    monkeypatch.setattr(real_text, "twitter_conversations", lambda **kw: seen.update(kw) or [])
    assert extra_data.twitter_conversations() == [] and seen["heldout"] is False
    assert seen["labels"] == extra_data.twitter_label_files() and not [p for p in seen["labels"] if "test" in p.name]
    # reencode --twitter-labels chooses label sets of dev.json; one of test.json is refused, not skipped
    assert extra_data.twitter_conversations([DATA / "labels.pass_a.jsonl"]) == []
    assert seen["labels"] == [DATA / "labels.pass_a.jsonl"]
    with pytest.raises(ValueError, match="evaluation only"):
        extra_data.twitter_conversations([DATA / "labels.pass_a.jsonl", DATA / "ibm_twitter_test.pass_a.jsonl"])


def test_agreement_between_the_two_passes():
    table = real_text.label_agreement(DATA, DATA / "threads.json", DATA / "heldout_threads.json")
    assert list(table) == ["labels"]  # ibm_twitter_test.pass_a has no second pass here
    rows = table["labels"]
    assert rows["threads"]["n"] == 2 and rows["attitude"]["n"] == 3
    assert rows["attitude"]["agreement"] == pytest.approx(2 / 3)  # fakeB#0: hostile against sceptical
    assert rows["apology"]["kappa"] == 1.0 and rows["follow_up"]["agreement"] == 1.0


def test_what_the_uncertain_flag_catches():
    from samtaleanalyse.classify.predict import TurnPrediction

    convs = real_text.twitter_conversations([DATA / "labels.pass_a.jsonl"], DATA / "threads.json")  # fakeA, B, D

    class Stub:
        """fakeA: all right, turn 1 flagged; fakeB: turn 0 wrong and flagged, turn 1 wrong; fakeD: all right."""

        def predict(self, conversations):
            out = []
            for conv, gold in zip(conversations, convs):
                preds = []
                for t in gold.turns:
                    task = "attitude" if t.turn.role == "customer" else "behaviours"
                    labels = (t.attitude,) if task == "attitude" else tuple(t.behaviours)
                    if conv.id == "en-tw-fakeB":
                        labels = ("neutral",) if task == "attitude" else ()
                    flag = (conv.id, t.turn.index) in {("en-tw-fakeA", 1), ("en-tw-fakeB", 0)}
                    preds.append(TurnPrediction(t.turn.index, task, {}, labels, flag, "stub"))
                out.append(preds)
            return out

    got = real_text.uncertain_review(Stub(), convs)  # type: ignore[arg-type]
    assert got == {"turns": 8, "review_rate": 2 / 8, "wrong_rate": 2 / 8, "wrong_caught": 1 / 2}


def test_missing_label_files_are_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        real_text.label_files(tmp_path)


@pytest.mark.parametrize("case", json.loads((DATA / "findings.json").read_text(encoding="utf-8"))["cases"],
                         ids=lambda c: c["name"])
def test_findings_counts(case):
    got = real_text._findings([(lang, set(g), set(p)) for lang, g, p in case["pairs"]])
    for key, want in case["expected"].items():
        assert got[key] == want, key


def test_tables_from_results():
    m = {"conversations": 2, "attitude": {"macro_f1": 0.5, "n": 3, "per_label": {"neutral": {"f1": 0.8, "support": 3}}},
         "behaviours": {"macro_f1": 0.25, "n": 2, "per_label": {"thanks": {"f1": 0.5, "support": 1},
                                                                   "blame": {"f1": 0.0, "support": 0}}},
         "findings": {"micro": {"precision": 0.5, "recall": 0.25, "f1": 0.333, "support": 4}, "all_macro_f1": None,
                      "per_code": {"no_follow_up": {"precision": 0.5, "recall": 0.25, "f1": 0.333, "support": 4}}}}
    results = {"parts": {"dev": {**m, "groups": {"en/chat": m}}}}
    summary = real_text.summary_rows(results)
    assert "| dev | all | 2 | 0.50 (3) | 0.25 (2) | 0.50 / 0.25 / 0.33 | – | – / – / – |" in summary
    assert "| dev | en/chat | 2 | 0.50 (3) | 0.25 (2) | 0.50 / 0.25 / 0.33 | – | – / – / – |" in summary
    results["parts"]["dev"]["uncertain"] = {"review_rate": 0.25, "wrong_rate": 0.5, "wrong_caught": 1 / 3}
    assert "| 25.0 % / 50.0 % / 33.3 % |" in real_text.summary_rows(results)[2]
    assert "| blame | – (0) |" in real_text.label_rows(results, "behaviours")
    assert "| no_follow_up | 0.50 / 0.25 / 0.33 (4) |" in real_text.findings_rows(results)
    assert "## Findings per code" in real_text.markdown(results, "models/x", "samtaleanalyse evaluate-real-text")


def test_command_rejects_an_unknown_part():
    from typer.testing import CliRunner

    from samtaleanalyse.cli import app

    result = CliRunner().invoke(app, ["evaluate-real-text", "--model", "models/turns-e5-qat", "--part", "holdout"])
    assert result.exit_code == 2 and "holdout" in result.output


def test_command_without_the_texts_says_where_they_are_read(tmp_path):
    from typer.testing import CliRunner

    from samtaleanalyse.cli import app

    result = CliRunner().invoke(app, ["evaluate-real-text", "--model", "models/turns-e5-qat",
                                      "--source", str(tmp_path / "absent.json")])
    assert result.exit_code == 2 and "../shared/external" in result.output


def test_command_scores_the_heldout_part_from_its_own_source(tmp_path):
    from typer.testing import CliRunner

    from samtaleanalyse.cli import app

    out = tmp_path / "real_text.md"
    result = CliRunner().invoke(app, ["evaluate-real-text", "--model", "models/turns-e5-lex", "--part", "heldout",
                                      "--labels", str(DATA / "labels.pass_a.jsonl"),
                                      "--labels", str(DATA / "ibm_twitter_test.pass_a.jsonl"),
                                      "--source", str(DATA / "threads.json"),
                                      "--heldout-source", str(DATA / "heldout_threads.json"), "--markdown", str(out)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| heldout |")]
    assert rows and rows[0].startswith("| heldout | all | 2 |")  # fakeH1 and fakeH2; fakeH3 has no labels
    assert "| heldout | all | 2 |" in out.read_text(encoding="utf-8")
    assert not any(line.startswith(("| train |", "| test |")) for line in result.output.splitlines())
