"""Every input format, read from real-looking files."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from samtaleanalyse import ReadOptions, SpeakerMap, read_conversations
from samtaleanalyse.ingest import iter_conversations

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).parent / "data"


def roles(conv):
    return [t.role for t in conv.turns]


def test_semicolon_csv_with_norwegian_headers_and_multiline_cell():
    res = read_conversations(EXAMPLES / "chats" / "kundeservice_eksport.csv")
    assert res.errors == ()
    ids = [c.id for c in res.conversations]
    assert ids == ["nb-chat-1001", "sv-chat-2040"]
    nb = res.conversations[0]
    assert roles(nb) == ["customer", "agent"] * 3 + ["customer"]
    assert nb.turns[3].text.startswith("Takk. Så du har altså brukt to fridager")
    assert "Vestby" in nb.turns[3].text  # the second line of the quoted cell stays in the turn
    assert nb.meta.agent_id == "A117" and nb.meta.team == "Møbler Øst"
    assert nb.channel == "chat"
    assert nb.turns[0].timestamp == "2026-11-02 09:14:03"
    assert nb.turns[1].speaker == "Rådgiver"


def test_tsv_and_default_column_names():
    res = read_conversations(DATA / "inputs" / "multi.tsv")
    assert [c.id for c in res.conversations] == ["t1", "t2"]
    assert res.conversations[1].meta.team == "Telefoni"
    assert roles(res.conversations[1]) == ["customer", "agent"]


def test_csv_columns_are_configurable():
    opts = ReadOptions(csv_columns={"conversation_id": "ChatID", "speaker": "Fra", "text": "Innhold"})
    res = read_conversations(DATA / "inputs" / "chat_custom_columns.csv", opts)
    assert res.errors == ()
    (conv,) = res.conversations
    assert roles(conv) == ["customer", "agent"]
    assert conv.turns[0].text == "Hei, jeg har et spørsmål om regningen. Den er mye høyere enn før."


def test_plain_text_with_timestamps_metadata_and_continuation():
    (conv,) = read_conversations(EXAMPLES / "chats" / "chat_2026-11-03_da.txt").conversations
    assert conv.id == "da-chat-3307"
    assert conv.meta.agent_id == "A311" and conv.channel == "chat"
    assert roles(conv) == ["customer", "agent", "agent", "customer", "agent", "customer"]
    assert conv.turns[4].text.endswith("da ventetiden er lang.")  # continuation line joined
    assert conv.turns[0].timestamp == "10:02"
    assert conv.turns[1].speaker == "Agent Mette"


def test_plain_text_keeps_a_colon_inside_a_turn_and_system_notices(tmp_path):
    p = tmp_path / "chat.txt"
    p.write_text("*** Kari har blitt med i chatten ***\nKunde: Hei, pakken min er borte\n"
                 "Agent: Beklager! Har du ordrenummeret?\nKunde: Ja\nOrdrenummer: 55123\nAgent: Takk!\n",
                 encoding="utf-8")
    (conv,) = read_conversations(p).conversations
    assert roles(conv) == ["system", "customer", "agent", "customer", "agent"]
    assert conv.turns[3].text == "Ja Ordrenummer: 55123"


def test_vtt_voice_tags_merge_consecutive_cues_with_times():
    (conv,) = read_conversations(EXAMPLES / "calls" / "samtale_0412.vtt").conversations
    assert conv.channel == "call"
    assert roles(conv) == ["agent", "customer", "agent", "customer", "agent", "customer", "agent"]
    merged = conv.turns[1]
    assert merged.text.endswith("eg bur åleine i ei lita leilegheit")
    assert (merged.start, merged.end) == (4.9, 13.1)


def test_srt_speaker_prefix_and_unlabelled_cue_continues_speaker():
    (conv,) = read_conversations(EXAMPLES / "calls" / "opkald_7781.srt").conversations
    assert roles(conv) == ["agent", "customer", "agent", "customer", "agent"]
    assert conv.turns[1].text.endswith("det er altså virkelig træls")
    assert conv.turns[1].end == 11.0


def test_whisperx_segments_need_a_speaker_map():
    path = EXAMPLES / "calls" / "whisperx_samtal_5521.json"
    (conv,) = read_conversations(path, ReadOptions(speakers=SpeakerMap({"SPEAKER_00": "agent",
                                                                       "SPEAKER_01": "customer"}))).conversations
    assert roles(conv) == ["agent", "customer", "agent", "customer", "agent", "customer"]
    assert conv.turns[1].text.endswith("skulle vara fixat.")
    assert conv.turns[1].start == 3.8 and conv.turns[1].end == 12.0
    assert conv.meta.to_dict().get("asr_language") == "sv"


def test_whisper_unknown_labels_without_map_are_errors(tmp_path):
    src = json.loads((EXAMPLES / "calls" / "whisperx_samtal_5521.json").read_text(encoding="utf-8"))
    p = tmp_path / "call.json"
    p.write_text(json.dumps(src), encoding="utf-8")
    res = read_conversations(p)
    assert res.conversations == ()
    (err,) = res.errors
    assert err.code == "E305" and "SPEAKER_00" in err.reason and err.file == str(p)


def test_first_speaker_convention_for_diarised_labels(tmp_path):
    src = json.loads((EXAMPLES / "calls" / "transcribe_brightwater_0932.json").read_text(encoding="utf-8"))
    p = tmp_path / "call.json"
    p.write_text(json.dumps(src), encoding="utf-8")
    (conv,) = read_conversations(p, ReadOptions(speakers=SpeakerMap(first_diarised_speaker="agent"))).conversations
    assert roles(conv) == ["agent", "customer"] * 3


def test_transcribe_items_with_speaker_segments(tmp_path):
    (conv,) = read_conversations(EXAMPLES / "calls" / "transcribe_brightwater_0932.json").conversations
    assert conv.id == "brightwater-call-20261104-0932"
    assert roles(conv) == ["agent", "customer"] * 3
    assert conv.turns[0].text.startswith("Hello you're through to Brightwater Energy")
    assert conv.turns[0].text.endswith("help.")  # punctuation item attached to the last word
    # Without per-item labels the speaker comes from the speaker segments' time ranges.
    src = json.loads((EXAMPLES / "calls" / "transcribe_brightwater_0932.json").read_text(encoding="utf-8"))
    for item in src["results"]["items"]:
        item.pop("speaker_label", None)
    p = tmp_path / "noitemlabels.json"
    p.write_text(json.dumps(src), encoding="utf-8")
    (conv2,) = read_conversations(p, ReadOptions(speakers=SpeakerMap({"spk_0": "agent", "spk_1": "customer"}))).conversations
    assert [t.text for t in conv2.turns] == [t.text for t in conv.turns]


def test_transcribe_audio_segments(tmp_path):
    doc = {"jobName": "j1", "results": {"items": [], "audio_segments": [
        {"id": 0, "transcript": "Hej, det er Nordbank.", "start_time": "0.0", "end_time": "2.0", "speaker_label": "spk_0"},
        {"id": 1, "transcript": "Hej, mit kort virker ikke.", "start_time": "2.5", "end_time": "5.0", "speaker_label": "spk_1"},
    ]}}
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    (conv,) = read_conversations(p, ReadOptions(speakers=SpeakerMap({"spk_0": "agent", "spk_1": "customer"}))).conversations
    assert roles(conv) == ["agent", "customer"] and conv.turns[1].start == 2.5


def test_json_file_with_list_and_canonical_jsonl():
    res = read_conversations(EXAMPLES / "chats" / "chats.jsonl")
    assert [c.id for c in res.conversations] == ["en-chat-501", "sv-chat-778"]
    assert res.conversations[0].meta.started_at == "2026-11-03T14:20:00Z"


def test_json_list(tmp_path):
    p = tmp_path / "list.json"
    p.write_text(json.dumps([
        {"id": "a", "turns": [{"speaker": "Kunde", "text": "Hei"}, {"speaker": "Agent", "text": "Hei!"}]},
        {"id": "b", "turns": [{"speaker": "Kunde", "text": "Hei"}]},
    ]), encoding="utf-8")
    res = read_conversations(p)
    assert [c.id for c in res.conversations] == ["a"]
    (err,) = res.errors
    assert err.record == 1 and err.code == "E307"


def test_directory_is_read_recursively_and_folder_speaker_map_applies():
    res = read_conversations(EXAMPLES)
    assert res.errors == ()
    assert len(res.conversations) == 9
    assert {c.channel for c in res.conversations} == {"chat", "call"}


def test_stdin_reads_jsonl():
    data = (EXAMPLES / "chats" / "chats.jsonl").read_bytes()
    items = list(iter_conversations(["-"], stdin=io.BytesIO(data)))
    assert [i.id for i in items] == ["en-chat-501", "sv-chat-778"]


def test_round_trip_through_json():
    from samtaleanalyse import Conversation

    for conv in read_conversations(EXAMPLES).conversations:
        assert Conversation.from_dict(json.loads(json.dumps(conv.to_dict()))) == conv
