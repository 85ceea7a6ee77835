"""Contact-centre platform exports: each platform's reader on a realistic export, broken variants
of each, and mutated records that must give coded errors, never an exception."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtaleanalyse.conversation import ROLES, Conversation
from samtaleanalyse.errors import InputError
from samtaleanalyse.ingest.build import ReadOptions
from samtaleanalyse.ingest.limits import Limits
from samtaleanalyse.ingest.platforms import (PLATFORMS, Place, Platform, html_to_text, iso_time, match_platform,
                                             parse_liveagent_body)
from samtaleanalyse.ingest.platforms.base import INTERNAL_MARK
from samtaleanalyse.ingest.platforms.text import language_code
from samtaleanalyse.ingest.speakers import SpeakerMap

DATA = Path(__file__).parent / "data" / "platforms"
BY_NAME = {p.name: p for p in PLATFORMS}
EXPORTS = sorted(DATA.glob("*.json"))


def _jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def records(doc: Any) -> Iterator[tuple[Platform, Any, int | None]]:
    """What the streaming reader does: the document if a platform knows it, else the items of
    the arrays the platforms name in ``list_keys``."""
    platform = match_platform(doc)
    if platform is not None:
        yield platform, doc, None
        return
    keys = dict.fromkeys(k for p in PLATFORMS for k in p.list_keys)
    for key in keys:
        items = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(items, list):
            for pos, item in enumerate(items):
                platform = match_platform(item)
                if platform is not None and key in platform.list_keys:
                    yield platform, item, pos


def read_export(path: Path, options: ReadOptions = ReadOptions()) -> list[tuple[str, Conversation | InputError]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [(platform.name, out) for platform, item, pos in records(doc)
            for out in platform.read(item, Place(path.name, record=pos), options)]


EXPECTED = _jsonl("expected.jsonl")


@pytest.mark.parametrize("case", EXPECTED, ids=[f"{c['file']}:{c['id']}" for c in EXPECTED])
def test_platform_export_reads_as_expected(case: dict[str, Any]) -> None:
    found = {out.id: (name, out) for name, out in read_export(DATA / case["file"]) if isinstance(out, Conversation)}
    assert case["id"] in found, f"{case['id']} not read from {case['file']}"
    name, conv = found[case["id"]]
    assert name == case["platform"]
    assert [t.role for t in conv.turns] == case["roles"]
    assert [t.text for t in conv.turns[:len(case["texts"])]] == case["texts"]
    assert [t.speaker for t in conv.turns[:len(case["speakers"])]] == case["speakers"]
    assert conv.turns[0].timestamp == case["first_timestamp"]
    assert conv.channel == case["channel"] and conv.language == case["language"]
    meta = conv.meta.to_dict()
    assert {k: meta.get(k) for k in case["meta"]} == case["meta"]
    for gone in case.get("absent", []):
        assert all(gone not in t.text for t in conv.turns), f"{gone!r} should not be in any turn"
    assert conv.warnings == ()


@pytest.mark.parametrize("path", EXPORTS, ids=[p.name for p in EXPORTS])
def test_every_conversation_of_an_export_is_expected_and_none_fails(path: Path) -> None:
    outs = read_export(path)
    assert [o for _, o in outs if isinstance(o, InputError)] == []
    assert sorted(o.id for _, o in outs) == sorted(c["id"] for c in EXPECTED if c["file"] == path.name)


@pytest.mark.parametrize("path", EXPORTS, ids=[p.name for p in EXPORTS])
def test_objects_from_ijson_read_the_same(path: Path) -> None:
    # The streaming reader parses with ijson, which gives Decimal for numbers with a fraction.
    import ijson

    def read(doc: Any) -> list[Any]:
        return [out.to_dict() if isinstance(out, Conversation) else str(out)
                for platform, item, pos in records(doc)
                for out in platform.read(item, Place(path.name, record=pos), ReadOptions())]

    with path.open("rb") as fh:
        streamed = next(ijson.items(fh, ""))
    assert read(streamed) == read(json.loads(path.read_text(encoding="utf-8")))


def test_each_platform_has_an_export_and_list_keys_lead_to_it() -> None:
    seen = {name for path in EXPORTS for name, _ in read_export(path)}
    assert seen == set(BY_NAME)
    assert all(p.description for p in PLATFORMS)


def test_options_win_over_what_the_export_says() -> None:
    outs = read_export(DATA / "genesys_transcripts.json", ReadOptions(language="nn", channel="email"))
    assert {(o.language, o.channel) for _, o in outs} == {("nn", "email")}


def test_the_user_speaker_map_cannot_override_a_platform_role() -> None:
    # Roles from platform fields are facts; a speaker map only fills in what the export leaves open.
    opts = ReadOptions(speakers=SpeakerMap({"Sigrid": "customer"}))
    conv = next(o for _, o in read_export(DATA / "zendesk_chats.json", opts) if o.id.endswith("Yk1"))
    assert conv.turns[2].speaker == "Sigrid" and conv.turns[2].role == "agent"


def test_a_time_that_is_no_time_is_left_out_with_a_warning() -> None:
    record = json.loads((DATA / "zendesk_chats.json").read_text(encoding="utf-8"))["chats"][1]
    record["history"][0]["timestamp"] = "i går"
    (conv,) = BY_NAME["zendesk-chat"].read(record, Place("x.json"), ReadOptions())
    assert isinstance(conv, Conversation)
    assert conv.turns[0].timestamp is None
    assert conv.warnings == ("the time 'i går' of history entry 0 is not a time; left out",)


def test_turn_limits_apply_to_platform_exports() -> None:
    (err,) = [o for _, o in read_export(DATA / "zendesk_ticket_single.json", ReadOptions(limits=Limits(max_turn_chars=100)))]
    assert isinstance(err, InputError) and err.code == "E308" and err.record == "48213"


BROKEN = _jsonl("broken.jsonl")


@pytest.mark.parametrize("case", BROKEN, ids=[c["case"] for c in BROKEN])
def test_broken_record_gives_one_coded_error(case: dict[str, Any]) -> None:
    outs = list(BY_NAME[case["platform"]].read(case["record"], Place("broken.json", record=3), ReadOptions()))
    assert len(outs) == 1 and isinstance(outs[0], InputError), outs
    err = outs[0]
    assert err.code == case["code"], str(err)
    assert case["reason"] in err.message, err.message
    assert INTERNAL_MARK not in err.message
    assert err.file == "broken.json" and err.record == 3
    if "hint" in case:
        assert err.hint and case["hint"] in err.hint, err.hint


TEXT_CASES = _jsonl("text_cases.jsonl")


@pytest.mark.parametrize("case", TEXT_CASES, ids=[f"{c['fn']}:{str(c['in'])[:30]}" for c in TEXT_CASES])
def test_bodies_times_and_locales(case: dict[str, Any]) -> None:
    if case["fn"] == "html":
        assert html_to_text(case["in"]) == case["out"]
    elif case["fn"] == "time":
        assert iso_time(case["in"], case.get("unit", "auto")) == case["out"]
    else:
        assert language_code(case["in"]) == case["out"]


BODIES = _jsonl("liveagent_bodies.jsonl")


@pytest.mark.parametrize("case", BODIES, ids=[c["case"] for c in BODIES])
def test_parse_liveagent_body(case: dict[str, Any]) -> None:
    speakers = SpeakerMap(case["speakers_map"]) if "speakers_map" in case else None
    turns = parse_liveagent_body(case["body"], agent_names=case.get("agent_names", ()), speakers=speakers)
    assert [t.role for t in turns] == case["roles"]
    assert [t.speaker for t in turns] == case["speakers"]
    assert [t.text for t in turns] == case["texts"]
    assert [t.start for t in turns] == case["starts"]
    assert [t.timestamp for t in turns] == case["timestamps"]


# --- Mutations: whatever an export does to a record, a reader answers with a coded error -------------

def _record_samples() -> list[tuple[str, Any]]:
    out = []
    for path in EXPORTS:
        for platform, item, _ in records(json.loads(path.read_text(encoding="utf-8"))):
            out.append((platform.name, item))
    return out


SAMPLES = _record_samples()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, prefix + (i,))
    return found


REPLACEMENTS = [None, 0, -1, 1.5, float("nan"), 10**20, True, False, "", "x", "<p>", [], [None], {}, {"type": None},
                "2026-13-45T99:99:99Z", [{"a": 1}], {"conversation_parts": 5}]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    name, record = draw(st.sampled_from(SAMPLES))
    record = copy.deepcopy(record)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(record)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = record
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
    return name, record


def _check(outs: list[Any]) -> None:
    for out in outs:
        assert isinstance(out, (Conversation, InputError)), out
        if isinstance(out, InputError):
            assert out.code.startswith("E3") and INTERNAL_MARK not in out.message, str(out)
        else:
            assert out.turns and all(t.role in ROLES and isinstance(t.text, str) for t in out.turns)
            json.dumps(out.to_dict(), allow_nan=False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_records_give_coded_errors_never_exceptions(sample: tuple[str, Any]) -> None:
    name, record = sample
    _check(list(BY_NAME[name].read(record, Place("m.json", record=0), ReadOptions())))
    platform = match_platform(record)
    if platform is not None:
        _check(list(platform.read(record, Place("m.json"), ReadOptions())))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SAMPLES), st.sampled_from(sorted(BY_NAME)))
def test_any_reader_on_another_platforms_record_answers_with_errors(sample: tuple[str, Any], name: str) -> None:
    _check(list(BY_NAME[name].read(sample[1], Place("m.json"), ReadOptions())))


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["id", "type", "messages", "history", "transcripts", "participants",
                                         "records", "detail", "comments", "ticket", "source", "author", "body",
                                         "conversation_parts", "iq_session_id", "Body", "phrases", "text"]),
                        inner, max_size=4), max_leaves=12))
def test_random_json_never_raises(value: Any) -> None:
    platform = match_platform(value) if isinstance(value, dict) else None
    for p in PLATFORMS if platform is None else (platform,):
        _check(list(p.read(value, Place("r.json"), ReadOptions())))


def _canonical_objects() -> list[Any]:
    root = Path(__file__).resolve().parents[1]
    found: list[Any] = [json.loads(line) for line in (root / "examples" / "chats" / "chats.jsonl")
                        .read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in (root / "examples" / "calls").glob("*.json"):
        found.append(json.loads(path.read_text(encoding="utf-8")))
    for path in EXPORTS:  # what the pipeline writes for a platform's conversation is canonical JSON
        found += [out.to_dict() for _, out in read_export(path)]
    return found


def test_canonical_records_and_speech_to_text_output_are_no_platforms_records() -> None:
    objects = _canonical_objects()
    assert len(objects) > 20
    assert [o.get("id") for o in objects if match_platform(o) is not None] == []


# Read whole only: one record per file, or (Salesforce Messaging) entries grouped across the whole query
# result; over the document limit these are refused (E314) or their items unread (E304), never guessed at.
NOT_STREAMED = {"zendesk_ticket_single.json": "E314", "salesforce_messaging.json": "E304"}
# A streamed Zendesk export does not see its file-level sideloads (documented): roles then come from
# requester and assignee, so the texts are the same but the export is compared only when read whole.
SIDELOADED = {"zendesk_tickets.json"}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("path", EXPORTS, ids=[p.name for p in EXPORTS])
def test_the_file_reader_finds_the_same_conversations(path: Path, streamed: bool) -> None:
    """Through `read_conversations` (what `score` uses), whole or streamed with ijson, every export gives the
    conversations its platform reader gives, with no error."""
    from dataclasses import replace

    from samtaleanalyse import read_conversations

    options = ReadOptions(limits=Limits(max_document_bytes=200)) if streamed else ReadOptions()
    result = read_conversations(path, options)
    if streamed and path.name in NOT_STREAMED:
        assert {e.code for e in result.errors} == {NOT_STREAMED[path.name]} and result.conversations == ()
        return
    assert result.errors == ()
    direct = [o for _, o in read_export(path) if isinstance(o, Conversation)]
    if streamed and path.name in SIDELOADED:
        assert [c.id for c in result.conversations] == [c.id for c in direct]
        return
    unplaced = lambda c: replace(c, source=None)  # noqa: E731 - the two name the place differently
    assert [unplaced(c) for c in result.conversations] == [unplaced(c) for c in direct]
