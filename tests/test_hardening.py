"""Hostile and unusual inputs, as data: every case in tests/data/hardening/cases.jsonl reads or yields coded errors.

Each case writes its files into a fresh folder (text, generated repetitions, other encodings, symbolic links,
FIFOs), reads the folder as `score` would, and checks the conversations and the coded errors it expects.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from samtaleanalyse import read_conversations
from samtaleanalyse.cli_options import read_options
from samtaleanalyse.ingest import Limits

CASES_FILE = Path(__file__).parent / "data" / "hardening" / "cases.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def _bytes(spec: dict[str, Any]) -> bytes:
    parts = spec.get("parts") or [{"text": spec["text"]}]
    out = bytearray()
    for part in parts:
        encoding = part.get("encoding", "utf-8")
        if "repeat" in part:
            out += (part["repeat"] * part["times"]).encode(encoding)
        else:
            out += part["text"].encode(encoding)
    return bytes(out)


def _build(case: dict[str, Any], root: Path) -> Path:
    folder = root / "in"
    folder.mkdir()
    for spec in case["files"]:
        path = folder / spec["name"]
        if spec.get("fifo"):
            os.mkfifo(path)
        elif "symlink" in spec:
            if "outside" in spec:
                (root / Path(spec["symlink"]).name).write_text(spec["outside"], encoding="utf-8")
            path.symlink_to(spec["symlink"])
        else:
            path.write_bytes(_bytes(spec))
    return folder


def _options(case: dict[str, Any]):  # type: ignore[no-untyped-def]
    given = dict(case.get("options", {}))
    limits = given.pop("limits", {})
    options = read_options(**given)
    return replace(options, limits=replace(options.limits, **limits)) if limits else options


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    folder = _build(case, tmp_path)
    result = read_conversations([folder], _options(case))
    expect = case["expect"]

    got_ids = [c.id for c in result.conversations]
    assert got_ids == [c["id"] for c in expect["conversations"]], [e.to_dict() for e in result.errors]
    for conv, want in zip(result.conversations, expect["conversations"]):
        text = " ".join(t.text for t in conv.turns)
        if "turns" in want:
            assert len(conv.turns) == want["turns"]
        if "text" in want:
            assert want["text"] in text, text
        if "warning" in want:
            assert any(want["warning"] in w for w in conv.warnings), conv.warnings
        if want.get("no_warning"):
            assert conv.warnings == ()
        if "roles" in want:
            assert [t.role for t in conv.turns] == want["roles"]
        if "speakers" in want:
            assert [t.speaker for t in conv.turns] == want["speakers"]
        if "timestamps" in want:
            assert [t.timestamp for t in conv.turns] == want["timestamps"]
        meta = conv.meta.to_dict()
        for key, value in want.get("meta", {}).items():
            assert meta.get(key) == value, meta
        for key in want.get("no_meta", []):
            assert key not in meta

    errors = [e.to_dict() for e in result.errors]
    if "errors_start" in expect:  # what follows the first errors is reported too, but not spelled out here
        wanted = expect["errors_start"]
        assert len(errors) >= len(wanted), errors
    else:
        wanted = expect["errors"]
        assert len(errors) == len(wanted), errors
    for err, want in zip(errors, wanted):
        assert err["code"] == want["code"], err
        for key in ("line", "record"):
            if key in want:
                assert err.get(key) == want[key], err
        if "file" in want:
            assert Path(err["file"]).name == want["file"], err
        if "reason" in want:
            assert want["reason"] in err["reason"], err
        if "hint" in want:
            assert want["hint"] in (err.get("hint") or ""), err
        line = json.dumps(err, ensure_ascii=False)
        assert len(line) <= want.get("max_reason_chars", 1500), len(line)
        for secret in want.get("absent", []):
            assert secret not in line, line


def test_every_error_line_is_short() -> None:
    """Whatever the input, an error line stays readable: reasons are capped and quotes are excerpts."""
    from samtaleanalyse.errors import InputError, excerpt

    err = InputError("x" * 100_000, file="f" * 5000, record="r" * 5000, code="E304")
    assert len(json.dumps(err.to_record().to_dict())) < 2000
    quoted = excerpt("ring meg på 912 34 567 eller ola@example.no\x07" + "y" * 500)
    assert quoted.startswith("'ring meg på [number] eller [e-mail]\\x07yyy") and quoted.endswith("…'")
    assert len(quoted) <= 62


def test_limits_refuse_nonsense() -> None:
    from samtaleanalyse.errors import ConfigError

    with pytest.raises(ConfigError):
        Limits(max_turns=0)


def test_standard_input_is_capped() -> None:
    import io

    from samtaleanalyse.ingest import ReadOptions, iter_conversations

    line = b'{"id": "s", "turns": [{"speaker": "kunde", "text": "Hei"}, {"speaker": "agent", "text": "Hei!"}]}\n'
    items = list(iter_conversations(["-"], ReadOptions(limits=Limits(max_file_bytes=1000)),
                                    stdin=io.BytesIO(line * 100)))
    read = [i for i in items if not hasattr(i, "code")]
    (err,) = [i for i in items if hasattr(i, "code")]
    assert err.code == "E314" and "standard input" in err.message and 0 < len(read) < 100


def test_a_file_that_vanishes_during_the_batch_is_reported(tmp_path: Path) -> None:
    from samtaleanalyse.ingest import iter_conversations

    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text('{"id": "%s", "turns": [{"speaker": "kunde", "text": "Hei"}, '
                                     '{"speaker": "agent", "text": "Hei!"}]}\n' % name, encoding="utf-8")
    stream = iter_conversations([tmp_path])
    first = next(stream)
    (tmp_path / "b.jsonl").unlink()  # gone after the folder was listed, before it was read
    (err,) = list(stream)
    assert first.id == "a.jsonl" and err.code == "E310" and err.file.endswith("b.jsonl")
    assert "removed while the batch ran" in err.message
