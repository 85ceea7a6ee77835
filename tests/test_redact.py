"""Redaction of personal data: data-driven cases (tests/data/redaction/*.jsonl), offsets, names, excerpts."""
from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.errors import ConfigError
from samtaleanalyse.redact import KINDS, excerpt, find_pii, names_in_conversation, placeholders, redact_text

DATA = Path(__file__).parent / "data" / "redaction"
CASES = [json.loads(line) for line in (DATA / "cases.jsonl").read_text(encoding="utf-8").splitlines() if line]
CONVERSATIONS = [json.loads(line) for line in (DATA / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
                 if line]


def _occurrences(text: str, kind: str, piece: str) -> list[tuple[int, int]]:
    """Every place ``piece`` stands as a whole (a name may carry a possessive: "Karis", "Kari's")."""
    tail = r"(?=(?:['’]s|['’]|s)?(?!\w))" if kind == "name" else r"(?!\w)"
    flags = re.IGNORECASE if kind == "name" else 0
    return [m.span() for m in re.finditer(r"(?<!\w)" + re.escape(piece) + tail, text, flags)]


def _expected_redaction(text: str, pii: list[dict], language: str) -> str:
    spans = sorted({(s, e, p["kind"]) for p in pii for s, e in _occurrences(text, p["kind"], p["text"])})
    holders = placeholders(language)
    out, pos = [], 0
    for start, end, kind in spans:
        out += [text[pos:start], holders[kind]]
        pos = end
    return "".join(out) + text[pos:]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case):
    text, language = case["text"], case["language"]
    expected = {(p["kind"], p["text"]) for p in case["pii"]}
    found = find_pii(text, language=language)
    assert {(s.kind, s.text) for s in found} == expected
    for span in found:
        assert text[span.start:span.end] == span.text
    redacted = redact_text(text, language=language)
    assert redacted.text == _expected_redaction(text, case["pii"], language)
    assert redacted.spans == tuple(found)


def test_cases_cover_every_kind_and_near_misses_in_every_language():
    per_language = Counter(c["language"] for c in CASES)
    assert set(per_language) == set(LANGUAGES) and min(per_language.values()) >= 25, per_language
    for language in LANGUAGES:
        kinds = {p["kind"] for c in CASES if c["language"] == language for p in c["pii"]}
        assert kinds == set(KINDS), (language, set(KINDS) - kinds)
        near_misses = [c for c in CASES if c["language"] == language and not c["pii"]]
        assert len(near_misses) >= 10, language
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("conv", CONVERSATIONS, ids=[c["id"] for c in CONVERSATIONS])
def test_conversation_names_and_later_mentions(conv):
    turns = [(t["speaker"], t["role"], t["text"]) for t in conv["turns"]]
    names = names_in_conversation(turns)
    assert names == frozenset(conv["names"])
    for i, turn in enumerate(conv["turns"]):
        expected = [p for p in conv["pii"] if p["turn"] == i]
        redacted = redact_text(turn["text"], language=conv["language"], names=names)
        assert {(s.kind, s.text) for s in redacted.spans} == {(p["kind"], p["text"]) for p in expected}
        assert redacted.text == _expected_redaction(turn["text"], expected, conv["language"])


def test_names_from_speaker_labels():
    assert names_in_conversation([("Agent Kari", "agent", "Ok.")]) == {"Kari"}
    assert names_in_conversation([("Kari Nordmann (Kundeservice)", "agent", "Ok.")]) == {"Kari Nordmann"}
    assert names_in_conversation([("Kundeservice - Ola", "agent", "Ok.")]) == {"Ola"}
    for label, role in [("Kunde 2", "customer"), ("SPEAKER_00", "agent"), ("Telenor Kundeservice", "agent"),
                        ("Chatbot Ava", "system"), ("Kunde", "customer")]:
        assert names_in_conversation([(label, role, "Ok.")]) == frozenset(), label


def test_known_names_are_found_whole_in_any_case_and_possessive():
    text = "KARI ringte. Karis sak og Kari's svar; Karina og Karianne er andre."
    assert [s.text for s in find_pii(text, names=["Kari"])] == ["KARI", "Kari", "Kari"]
    assert redact_text("Kari's order", language="en", names=["Kari"]).text == "[name]'s order"


def test_a_name_that_is_also_a_word_counts_only_capitalised():
    text = "Per sa at det koster 100 kr per måned."
    assert [s.start for s in find_pii(text, names=["Per"])] == [0]


def test_map_offset():
    text = "Ring 91 23 45 67 nå, Kari."
    red = redact_text(text, language="nb", names=["Kari"])
    assert red.text == "Ring [telefonnummer] nå, [navn]."
    phone, name = red.spans
    assert red.map_offset(0) == 0
    assert red.map_offset(phone.start) == red.text.index("[telefonnummer]")
    # inside a replaced span: the placeholder's start
    assert red.map_offset(phone.start + 3) == red.text.index("[telefonnummer]")
    # right after a span and beyond: shifted by the difference in length
    assert red.map_offset(phone.end) == red.text.index(" nå")
    assert red.text[red.map_offset(text.index("nå")):].startswith("nå, [navn]")
    assert red.map_offset(name.start) == red.text.index("[navn]")
    assert red.map_offset(len(text)) == len(red.text)
    with pytest.raises(ValueError):
        red.map_offset(len(text) + 1)


def test_map_offset_without_spans_is_identity():
    red = redact_text("Ingenting her.", language="nb")
    assert red.spans == () and [red.map_offset(i) for i in range(15)] == list(range(15))


PIECES = [
    "Ring 91 23 45 67", " ", "Hei Kari, ", "ordre 48213377", "kari@example.no", "\n", "æøå", "null ni åtte syv seks fem",
    "4526 0181 5908 3012", "04.11.2026", "x", "1", "Mvh Ola", ", ", "850212-1000", "Kari's", "+47", "(", "-",
]


@pytest.mark.parametrize("seed", range(200))
def test_spans_and_offsets_are_consistent(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
    red = redact_text(text, language="nb", names=["Ola"])
    previous_end = 0
    for span in red.spans:
        assert span.kind in KINDS and text[span.start:span.end] == span.text and span.start >= previous_end
        previous_end = span.end
    mapped = [red.map_offset(i) for i in range(len(text) + 1)]
    assert mapped == sorted(mapped) and mapped[0] == 0 and mapped[-1] == len(red.text)
    for span in red.spans:
        holder = placeholders("nb")[span.kind]
        assert red.text[mapped[span.start]:mapped[span.start] + len(holder)] == holder
        assert all(mapped[i] == mapped[span.start] for i in range(span.start, span.end))


def test_placeholders_per_language():
    assert redact_text("Ring 91 23 45 67", language="nb").text == "Ring [telefonnummer]"
    assert redact_text("Mitt personnummer är 850212-1000", language="sv").text == "Mitt personnummer är [personnummer]"
    assert redact_text("CPR 020285-1234", language="da").text == "CPR [cpr-nummer]"
    assert redact_text("call +44 20 7946 0958", language="en").text == "call [phone number]"
    for language in LANGUAGES:
        holders = placeholders(language)
        assert set(holders) == set(KINDS)
        assert all(h.startswith("[") and h.endswith("]") and len(h) <= 20 for h in holders.values())


def test_unknown_language_is_a_config_error():
    with pytest.raises(ConfigError):
        redact_text("x", language="de")
    with pytest.raises(ConfigError):
        find_pii("x", language="fi")
    assert find_pii("Ring 91 23 45 67", language=None)[0].kind == "phone"


def test_excerpt_redacts_escapes_and_cuts():
    text = "Hei\tKari!\nRing 91 23 45 67\x00 eller skriv til kari@example.no i dag, takk\u202e"
    out = excerpt(text, 60)
    assert "Kari" not in out and "91 23" not in out and "kari@" not in out
    assert "\n" not in out and "\t" not in out and "\x00" not in out and "\u202e" not in out
    assert out.startswith("Hei\\t[name]!\\nRing [phone number]\\x00 eller")
    assert len(out) <= 60 and out.endswith("…")
    assert excerpt("kort", 60) == "kort"
    assert excerpt("a\u202eb", 60) == "a\\u202eb"


def test_excerpt_never_cuts_a_placeholder_or_an_escape():
    text = "ab\x01cd kari@example.no efgh\n" * 3
    full = excerpt(text, 10_000)
    assert full == "ab\\x01cd [email] efgh\\n" * 3
    assert excerpt(text, len(full)) == full
    for limit in range(2, len(full)):
        out = excerpt(text, limit)
        assert len(out) <= limit and out.endswith("…")
        body = out[:-1]
        assert full.startswith(body)
        assert body.count("[") == body.count("]")
        assert not re.search(r"\\(?:x[0-9a-f]?)?$", body), body


def test_excerpt_of_huge_input_reads_only_the_start():
    text = "Ring 91 23 45 67 " + "x" * 5_000_000 + " 41234567"
    assert excerpt(text, 40) == "Ring [phone number] " + "x" * 19 + "…"


def test_excerpt_does_not_show_a_number_cut_at_the_window():
    # Long addresses shrink to short placeholders, so a short quote covers much of the text; a phone number
    # cut in half where excerpt stops reading (4 * limit + 120 characters) must not show.
    limit = 40
    emails = ("x" * 56 + "@example.com ") * 4
    for gap in range(0, 6):
        text = emails + " " * gap + "91 23 45 67 og mer tekst her" + " z" * 500
        out = excerpt(text, limit)
        assert len(out) <= limit and out.endswith("…")
        assert not re.search(r"\d", out), out


def _benchmark():
    import importlib.util
    path = Path(__file__).parent.parent / "benchmarks" / "redaction.py"
    spec = importlib.util.spec_from_file_location("redaction_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_benchmark_scores_texts_and_conversations(tmp_path):
    bench = _benchmark()
    for name in ("cases.jsonl", "conversations.jsonl"):
        out = tmp_path / f"{name}.md"
        assert bench.main([str(DATA / name), "--out", str(out), "--seconds", "0"]) == 0
        report = out.read_text(encoding="utf-8")
        assert f"redaction/{name}" in report and "texts per second" in report
        # Our own cases are all found: the "all" rows hold P = R = F1 = 1.
        assert report.count("| 1.000 | 1.000 | 1.000 |") >= 2


def test_benchmark_counts_misses_other_kinds_and_near_misses(tmp_path):
    bench = _benchmark()
    data = tmp_path / "eval.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a", "language": "nb", "text": "Ordre 48213377, ring 91 23 45 67. Hei Kari, takk.",
         "pii": [{"kind": "phone", "text": "91 23 45 67"}]},
        {"id": "b", "language": "sv", "text": "Ring mig på 070-123 45 67",
         "pii": [{"kind": "national_id", "text": "070-123 45 67"}]},
        {"id": "c", "language": "da", "turns": [{"speaker": "Agent Mette", "role": "agent", "text": "Hej!"},
                                                {"speaker": "Kunde", "role": "customer", "text": "Tak, Mette."}],
         "pii": [{"turn": 1, "kind": "name", "text": "Mette"},
                 {"turn": 0, "field": "speaker", "kind": "name", "text": "Mette"}]},
    ]) + "\nnot json\n", encoding="utf-8")
    units_by_record, problems = bench.load(data)
    assert problems == ["line 4: not JSON (Expecting value)"]
    units = [u for units in units_by_record for u in units]
    predictions = [s for units in units_by_record for s in bench.redact_record(units)]
    by_kind, by_language, near_misses, misses = bench.score(units, predictions)
    assert (by_kind["phone"].expected, by_kind["phone"].found_expected, by_kind["phone"].predicted) == (1, 1, 2)
    assert by_kind["phone"].other_kind == 1 and by_kind["national_id"].recall == 0.0
    assert by_kind["national_id"].redacted_any == 1
    assert [s.text for _, s in near_misses] == ["Kari"]
    assert by_kind["name"].found_expected == 2 and by_language["da"].precision == 1.0  # in the text and the label
    assert [(m[0].record, m[3], m[4]) for m in misses] == [("b", "national_id", ["phone"])]


def test_the_names_cache_holds_only_short_recent_texts():
    """Names are found once per text while a chunk is scored, but the cache neither grows without end nor keeps
    long customer texts (a few megabytes at most)."""
    from samtaleanalyse.redact import names as n

    n._cached_name_spans.cache_clear()
    short = "Hei, du snakker med Kari Nordmann."
    assert n.find_name_spans(short) == n.find_name_spans(short) == n._name_spans(short, True)
    assert n._cached_name_spans.cache_info().hits == 1
    long_text = short + " x" * n.NAME_CACHE_MAX_CHARS
    assert n.find_name_spans(long_text) == n._name_spans(long_text, True)
    assert n._cached_name_spans.cache_info().currsize == 1  # the long text was not kept
    for i in range(n.NAME_CACHE_TEXTS + 10):
        n.find_name_spans(f"text {i}")
    assert n._cached_name_spans.cache_info().currsize == n.NAME_CACHE_TEXTS
    n._cached_name_spans.cache_clear()
