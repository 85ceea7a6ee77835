"""Bad input: a clear error naming file, line or record and reason; the rest of the batch goes on."""
from __future__ import annotations

import json
from pathlib import Path

from samtaleanalyse import ReadOptions, read_conversations, score_paths
from samtaleanalyse.ingest import Limits

DATA = Path(__file__).parent / "data"


def test_broken_jsonl_costs_only_its_lines():
    res = read_conversations(DATA / "bad" / "broken_lines.jsonl")
    assert [c.id for c in res.conversations] == ["ok-1", "ok-2", "empty-turn"]
    by_line = {e.line: e for e in res.errors}
    assert set(by_line) == {2, 4, 5}
    assert by_line[2].code == "E303" and "broken JSON" in by_line[2].reason
    assert by_line[4].code == "E307" and "no agent turn" in by_line[4].reason
    assert by_line[5].code == "E305" and "'Kari'" in by_line[5].reason and "--speaker" in by_line[5].hint
    assert all(e.file.endswith("broken_lines.jsonl") for e in res.errors)


def test_empty_turn_is_skipped_with_a_warning():
    res = read_conversations(DATA / "bad" / "broken_lines.jsonl")
    conv = next(c for c in res.conversations if c.id == "empty-turn")
    assert [t.index for t in conv.turns] == [0, 1]
    assert conv.warnings == ("empty agent turn at turn 2 skipped",)


def test_empty_file_and_binary_garbage():
    empty = read_conversations(DATA / "bad" / "empty.json").errors[0]
    assert empty.code == "E301" and "empty" in empty.reason
    garbage = read_conversations(DATA / "bad" / "garbage.txt").errors[0]
    assert garbage.code == "E302" and "binary" in garbage.reason


def test_csv_without_needed_columns_names_them():
    (err,) = read_conversations(DATA / "bad" / "missing_columns.csv").errors
    assert err.code == "E306" and err.line == 1
    assert "conversation_id" in err.reason or "speaker" in err.reason
    assert "who" in err.reason  # says what the header has
    assert "--csv-columns" in err.hint


def test_turn_longer_than_limit(tmp_path):
    p = tmp_path / "long.jsonl"
    p.write_text(json.dumps({"id": "x", "turns": [{"speaker": "kunde", "text": "ord " * 400},
                                                   {"speaker": "agent", "text": "ok"}]}) + "\n", encoding="utf-8")
    (err,) = read_conversations(p, ReadOptions(limits=Limits(max_turn_chars=1000))).errors
    assert err.code == "E308" and "1000" in err.reason and err.line == 1
    assert len(read_conversations(p).conversations) == 1  # the default limit is higher


def test_csv_conversation_without_customer_reports_its_id(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("conversation_id,speaker,text\na,agent,Hei\nb,kunde,Hei\nb,agent,Hei hei\n", encoding="utf-8")
    res = read_conversations(p)
    assert [c.id for c in res.conversations] == ["b"]
    (err,) = res.errors
    assert err.record == "a" and err.line == 2 and err.code == "E307"


def test_unclosed_quote_in_csv(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('conversation_id,speaker,text\na,kunde,"Hei\na,agent,Hei\n', encoding="utf-8")
    res = read_conversations(p)
    # csv swallows the rest into one cell: reported, never a silent success with wrong turns
    assert res.errors and res.conversations == ()


def test_plain_text_without_speakers(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("Dette er bare et notat uten talere.\nEn linje til.\n", encoding="utf-8")
    (err,) = read_conversations(p).errors
    assert err.line == 1 and "Speaker" in err.reason


def test_vtt_bad_timing(tmp_path):
    p = tmp_path / "bad.vtt"
    p.write_text("WEBVTT\n\n00:00:01.000 --> banana\n<v Agent>hei\n", encoding="utf-8")
    (err,) = read_conversations(p).errors
    assert err.code == "E311" and err.line == 3


def test_whisper_without_diarisation(tmp_path):
    (err,) = read_conversations(DATA / "inputs" / "whisper_plain_no_speaker.json").errors
    assert "speaker" in err.reason and "diaris" in err.hint


def test_unknown_extension_and_missing_path(tmp_path):
    p = tmp_path / "export.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    res = read_conversations([p, tmp_path / "nope.csv"])
    codes = sorted(e.code for e in res.errors)
    assert codes == ["E302", "E310"]


def test_batch_writes_good_results_and_an_error_ledger(tmp_path):
    out = tmp_path / "out"
    summary = score_paths([DATA / "bad", DATA / "inputs" / "multi.tsv"], out)
    lines = [json.loads(l) for l in (out / "conversations.jsonl").read_text(encoding="utf-8").splitlines()]
    errors = [json.loads(l) for l in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {c["id"] for c in lines} == {"ok-1", "ok-2", "empty-turn", "t1", "t2"}
    assert summary.conversations == 5 and summary.errors == len(errors) == 6
    assert all({"file", "reason", "code"} <= set(e) for e in errors)
    assert summary.exit_status == 1
    assert json.loads((out / "summary.json").read_text())["errors"] == 6
