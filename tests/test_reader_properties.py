"""Property-based: random and mutated inputs either read or give coded input errors, never an exception.

Seeds are the real example exports; Hypothesis mutates their bytes (flips, cuts, splices, inserted control
and multi-byte characters) and also writes structured JSON, CSV and text of its own. An internal error
(E900) counts as a failure here: it means a reader met a case it did not handle. The deadline bounds the
time of each example, so a reader that hangs or goes quadratic fails too.
"""
from __future__ import annotations

import json
import tempfile
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtaleanalyse import read_conversations

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted(p for p in (ROOT / "examples").rglob("*") if p.is_file() and p.name != "speakers.toml")
PLATFORM_SEEDS = sorted((ROOT / "tests" / "data" / "platforms").glob("*.json"))
MEMORY_BOUND = 64 << 20  # bytes of Python allocations for reading one small file

SETTINGS = settings(max_examples=60, deadline=3000, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)


def _read(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        tracemalloc.start()
        try:
            result = read_conversations(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < MEMORY_BOUND, peak
    for err in result.errors:
        assert err.code.startswith("E3"), err.to_dict()  # coded input errors only: no E900
        assert err.reason and len(err.reason) <= 400
    for conv in result.conversations:
        assert {t.role for t in conv.turns} >= {"customer", "agent"}
        json.dumps(conv.to_dict(), allow_nan=False)  # every conversation can be written


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Path]) -> tuple[bytes, str]:
    seed = draw(st.sampled_from(seeds))
    data = bytearray(seed.read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "splice", "truncate"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:pos + draw(st.integers(1, 200))]
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from([b"\x00", b"\xff\xfe", b"\xe6", b"\r", b"\n", b'"', b"{", b"[", b"]",
                                                  b"}", b",", b";", b"\t", b":", b"-->", "æøå".encode(), b"NaN",
                                                  "🙂".encode(), b"\\u0000", b"<v >", b"***"]))
        elif op == "splice":
            end = min(len(data), pos + draw(st.integers(1, 300)))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 5))
        else:
            del data[pos:]
    return bytes(data), seed.suffix


@SETTINGS
@given(mutated(SEEDS))
def test_mutated_examples_never_raise(sample: tuple[bytes, str]) -> None:
    _read(*sample)


@SETTINGS
@given(mutated(PLATFORM_SEEDS))
def test_mutated_platform_exports_never_raise(sample: tuple[bytes, str]) -> None:
    _read(*sample)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["id", "turns", "speaker", "text", "role", "segments", "results", "items", "language",
                         "channel", "start", "end", "timestamp", "conversations", "agent_id", "meta", "x"]),
        children, max_size=6),
    max_leaves=30)


@SETTINGS
@given(json_values, st.sampled_from([".json", ".jsonl"]))
def test_random_json_never_raises(value: object, suffix: str) -> None:
    _read(json.dumps(value).encode("utf-8"), suffix)


cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@SETTINGS
@given(st.lists(st.lists(cells, min_size=1, max_size=6), min_size=1, max_size=12),
       st.sampled_from([",", ";", "\t", "|"]),
       st.sampled_from([["conversation_id", "speaker", "text"], ["Samtale-ID", "Avsender", "Melding", "Dato"],
                        ["chat_id", "from", "message", "agent_name"]]))
def test_random_csv_never_raises(rows: list[list[str]], delimiter: str, header: list[str]) -> None:
    text = "\n".join(delimiter.join(r) for r in [header, *rows])
    _read(text.encode("utf-8"), ".csv")


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["Kunde", "Agent", "kunde (10:02)", "04.11.2026 10:02 Agent", "***", "# id",
                                           "Ola (Kundeservice)", "", "SPEAKER_00", "x" * 50]),
                          st.text(max_size=40)), min_size=1, max_size=15),
       st.sampled_from([".txt", ".vtt", ".srt"]))
def test_random_text_transcripts_never_raise(lines: list[tuple[str, str]], suffix: str) -> None:
    body = "\n".join(f"{label}: {text}" for label, text in lines)
    if suffix == ".vtt":
        body = "WEBVTT\n\n" + "\n\n".join(f"00:00:0{i % 10}.000 --> 00:00:0{i % 10}.500\n{line}"
                                           for i, line in enumerate(body.split("\n")))
    _read(body.encode("utf-8"), suffix)
