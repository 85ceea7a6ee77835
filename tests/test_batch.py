"""The nightly batch as a QA team runs it: resumable, never half-written, ids kept apart, one run per folder.

Most tests score without the model (`--no-model`, languages only) so that they are fast; what they check
(the ledger, resume, identity, names, locking, tables) does not depend on the model. The tests that need
findings load the shipped model once per module.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from samtaleanalyse.batch import OutputFolder, ScorerSpec, report_stem, score_paths
from samtaleanalyse.batch.identity import content_hash
from samtaleanalyse.conversation import Conversation, Turn
from samtaleanalyse.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
NO_MODEL = ScorerSpec(no_model=True)


def conv_line(cid: object, n: int = 0, customer: str = "Hei, pakken min har ikke kommet", **extra: object) -> str:
    return json.dumps({"id": cid, **extra, "turns": [
        {"speaker": "kunde", "text": f"{customer} ({n})"},
        {"speaker": "agent", "text": "Beklager det! Hva er ordrenummeret ditt?"}]}, ensure_ascii=False)


def write_batch(folder: Path, files: int, per_file: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for f in range(files):
        lines = []
        for i in range(per_file):
            cid = f"c-{f:03d}-{i:04d}"
            ids.append(cid)
            lines.append(conv_line(cid, i))
        (folder / f"export_{f:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def ledger(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "conversations.jsonl").read_text(encoding="utf-8").splitlines()]


def cli(*args: str, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, **kw)


def test_rerun_skips_what_is_scored_and_scores_the_rest(tmp_path: Path) -> None:
    ids = write_batch(tmp_path / "in", 3, 20)
    out = tmp_path / "out"
    first = score_paths([tmp_path / "in" / "export_000.jsonl"], out, spec=NO_MODEL)
    assert first.scored == 20
    again = score_paths([tmp_path / "in"], out, spec=NO_MODEL)
    assert (again.scored, again.already_scored, again.conversations) == (40, 20, 60)
    assert sorted(r["id"] for r in ledger(out)) == sorted(ids)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scored"] == 40 and summary["already_scored"] == 20 and summary["conversations_per_second"] > 0


def test_a_torn_last_line_is_cut_and_its_conversation_scored_again(tmp_path: Path) -> None:
    ids = write_batch(tmp_path / "in", 1, 10)
    out = tmp_path / "out"
    score_paths([tmp_path / "in"], out, spec=NO_MODEL)
    data = (out / "conversations.jsonl").read_bytes()
    lines = data.splitlines(keepends=True)
    (out / "conversations.jsonl").write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    summary = score_paths([tmp_path / "in"], out, spec=NO_MODEL)
    assert (summary.scored, summary.already_scored) == (1, 9)
    assert sorted(r["id"] for r in ledger(out)) == sorted(ids)  # every line whole, each id once


def test_kill_9_then_rerun_completes_every_conversation_exactly_once(tmp_path: Path) -> None:
    ids = write_batch(tmp_path / "in", 8, 150)
    bad = tmp_path / "in" / "broken.jsonl"
    bad.write_text(conv_line("ok-in-broken") + "\n{not json\n" + conv_line("x" * 300) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["score", str(tmp_path / "in"), "--out", str(out), "--no-model", "--workers", "1", "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "samtaleanalyse.cli", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger_file = out / "conversations.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ledger_file.exists() and ledger_file.stat().st_size > 20_000:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail("the run finished before it could be killed; make the batch larger")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(ledger_file.read_bytes().splitlines())
    assert 0 < before < len(ids)
    rerun = cli(*args)
    assert rerun.returncode == 1, rerun.stderr  # some inputs failed (the broken file), everything else scored
    got = [r["id"] for r in ledger(out)]
    assert sorted(got) == sorted(ids + ["ok-in-broken"])
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert sorted((e["code"], e["line"]) for e in errors) == [("E303", 2), ("E319", 3)]
    assert json.loads((out / "summary.json").read_text())["already_scored"] >= before - 1


def test_same_id_same_content_is_one_conversation_other_content_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(conv_line("dup") + "\n" + conv_line("clash", 1) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text(conv_line("dup") + "\n" + conv_line("clash", 2) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = score_paths([folder], out, spec=NO_MODEL)
    assert sorted(r["id"] for r in ledger(out)) == ["clash", "dup"]
    assert summary.duplicates == 1
    (err,) = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert err["code"] == "E320" and err["file"].endswith("b.jsonl") and err["line"] == 2
    assert "a.jsonl:2" in err["reason"] and "--id-from-source" in err["hint"]
    # Made unique by their source, both are scored.
    out2 = tmp_path / "out2"
    score_paths([folder], out2, spec=NO_MODEL, id_from_source_ids=True)
    assert len(ledger(out2)) == 4


def test_two_conversations_with_one_id_keep_their_own_labels() -> None:
    """Predictions are matched by position: before, the second got the first one's labels."""
    from samtaleanalyse.classify.loading import load_classifier

    classifier = load_classifier()

    def conv(text: str) -> Conversation:
        return Conversation("same", (Turn(0, "customer", text, language="nb"),
                                     Turn(1, "agent", "Takk for at du tok kontakt.", language="nb")))

    angry = conv("Dette er helt uakseptabelt, dere er noen svindlere og jeg skal klage til Forbrukerrådet!")
    happy = conv("Tusen takk, dere er fantastiske, jeg anbefaler dere til alle jeg kjenner!")
    together = classifier.predict([angry, happy])
    alone = [classifier.predict([c])[0] for c in (angry, happy)]
    assert [p[0].scores for p in together] == [p[0].scores for p in alone]
    assert together[0][0].labels == ("hostile",) and together[1][0].labels == ("loyal",)


@pytest.mark.parametrize("cid", ["../../x", "/etc/passwd", "a/b", "CON", "con.txt", "NUL", "x" * 250, "tab\there",
                                 "nl\nhere", "æøå", "Æøå", ".hidden", "..", "a" * 80 + "/" + "b"])
def test_report_names_stay_in_the_folder_and_are_unique(cid: str) -> None:
    stem = report_stem(cid)
    assert "/" not in stem and "\\" not in stem and "\n" not in stem and "\t" not in stem
    assert stem not in ("", ".", "..") and not stem.startswith(".") and len(stem) <= 80
    assert stem.split(".")[0].lower() not in {"con", "nul", "prn", "aux"}
    assert report_stem(cid) == stem


def test_hostile_ids_write_inside_out_with_unique_reports(tmp_path: Path) -> None:
    ids = ["../../escape", "/etc/x", "a/b", "CON", "", "x" * 250, "ctrl\x01id", "Abc", "abc", "a_b", "a\\\\b"]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ids.jsonl").write_text("\n".join(conv_line(i, n) for n, i in enumerate(ids)) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    spec = ScorerSpec()  # with the model: reports are written
    score_paths([folder], out, spec=spec)
    records = ledger(out)
    assert len(records) == len(ids) - 1  # the empty id is an input error
    reports = [r["feedback"]["html"] for r in records]
    assert len(set(reports)) == len(reports)
    for rel in reports:
        assert (out / rel).resolve().parent == (out / "feedback").resolve()
        assert (out / rel).is_file() and (out / rel).with_suffix(".md").is_file()
    assert not (tmp_path / "escape.html").exists() and not list(tmp_path.glob("escape*"))


def test_a_second_run_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    write_batch(tmp_path / "in", 1, 2)
    out = tmp_path / "out"
    out.mkdir()
    with OutputFolder(out):
        proc = cli("score", str(tmp_path / "in"), "--out", str(out), "--no-model")
        assert proc.returncode == 2
        assert "another samtaleanalyse run is writing" in proc.stderr
    assert cli("score", str(tmp_path / "in"), "--out", str(out), "--no-model").returncode == 0


def test_other_settings_are_refused_unless_forced(tmp_path: Path) -> None:
    write_batch(tmp_path / "in", 1, 3)
    out = tmp_path / "out"
    score_paths([tmp_path / "in"], out, spec=NO_MODEL)
    with pytest.raises(ConfigError, match="other settings"):
        score_paths([tmp_path / "in"], out, spec=ScorerSpec(no_model=True, redact=False))
    forced = score_paths([tmp_path / "in"], out, spec=ScorerSpec(no_model=True, redact=False), force=True)
    assert forced.scored == 3 and len(ledger(out)) == 3


def test_summary_is_written_when_the_batch_meets_a_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_batch(tmp_path / "in", 1, 40)
    from samtaleanalyse.batch import run as run_module

    calls = {"n": 0}
    real = run_module.OutputFolder.append_lines

    def flaky(self, lines):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(self, lines)

    monkeypatch.setattr(run_module.OutputFolder, "append_lines", flaky)
    summary = score_paths([tmp_path / "in"], tmp_path / "out", spec=NO_MODEL, chunk_size=8)
    assert summary.exit_status == 4 and summary.interrupted
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written["internal_errors"] == 1 and written["conversations"] == 8 and written["exit_status"] == 4
    (err,) = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert err["code"] == "E900" and "disk on fire" in err["reason"]


def test_content_hash_ignores_where_a_conversation_was_read() -> None:
    a = Conversation("x", (Turn(0, "customer", "Hei"), Turn(1, "agent", "Hei!")), source="a.jsonl:1")
    b = a.with_updates(source="b.csv:7", warnings=("empty turn skipped",))
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(a.with_updates(turns=(Turn(0, "customer", "Hei"),)))


def test_errors_travel_between_processes() -> None:
    import pickle

    from samtaleanalyse.errors import InputError

    err = InputError("bad", file="f.jsonl", line=3, record="r", code="E304", hint="fix it")
    back = pickle.loads(pickle.dumps(err))
    assert back.to_record() == err.to_record() and str(back) == str(err)


def test_in_order_keeps_order_bounds_what_is_in_flight_and_rescues_a_lost_chunk() -> None:
    from samtaleanalyse.batch.engine import _in_order

    class Lost(Exception):
        pass

    in_flight: list[int] = []
    peak = {"n": 0}

    class Fake:
        def __init__(self, chunk: list) -> None:  # type: ignore[type-arg]
            self.chunk = chunk
            in_flight.append(chunk[0])
            peak["n"] = max(peak["n"], len(in_flight))

        def result(self) -> list:  # type: ignore[type-arg]
            in_flight.remove(self.chunk[0])
            if self.chunk[0] == 3:
                raise Lost()
            return [f"scored {self.chunk[0]}"]

        def cancel(self) -> None:
            pass

    def rescue(chunk, pending):  # type: ignore[no-untyped-def]
        return [f"lost {chunk[0]}"], [(c, Fake(c)) for c, f in pending]

    chunks = ([i] for i in range(8))
    out = list(_in_order(chunks, Fake, 3, lost=Lost, rescue=rescue))
    assert [c[0] for c, _ in out] == list(range(8))
    assert [r for _, rs in out for r in rs] == [f"scored {i}" if i != 3 else "lost 3" for i in range(8)]
    assert peak["n"] <= 3 + 2  # the rescue resubmits what was pending (at most in_flight - 1 more)


def test_progress_logs_plain_lines_when_not_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from samtaleanalyse import cli_progress
    from samtaleanalyse.ingest import ReadOptions

    write_batch(tmp_path / "in", 2, 30)
    stream = io.StringIO()
    monkeypatch.setattr(cli_progress, "LOG_EVERY_SECONDS", 0.0)
    reporter = cli_progress.ProgressReporter([tmp_path / "in"], ReadOptions(), stream=stream)
    with reporter:
        score_paths([tmp_path / "in"], tmp_path / "out", spec=NO_MODEL, on_progress=reporter.event,
                    read_progress=reporter.reading, chunk_size=10)
    lines = stream.getvalue().splitlines()
    assert lines and "scored" in lines[-1] and "/s)" in lines[-1] and "% of the input read" in lines[-1]
    assert reporter.counts["scored"] == 60 and reporter.reading.position == reporter.reading.total_bytes
