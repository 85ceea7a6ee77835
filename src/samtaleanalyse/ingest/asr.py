"""Speech-to-text output from call recorders: WhisperX segments and Amazon Transcribe JSON."""
from __future__ import annotations

import bisect
from typing import Any, Mapping

from ..conversation import Conversation
from ..errors import E_SCHEMA, InputError
from .build import RawTurn, ReadOptions, build_conversation, merge_consecutive


def looks_like_whisper(data: Mapping[str, Any]) -> bool:
    segs = data.get("segments")
    return isinstance(segs, list) and "turns" not in data


def looks_like_transcribe(data: Mapping[str, Any]) -> bool:
    results = data.get("results")
    return isinstance(results, dict) and ("items" in results or "audio_segments" in results)


def _seconds(value: Any, file: str, what: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what}: time {value!r} is not a number of seconds.", file=file, code=E_SCHEMA) from None


def read_whisper(data: Mapping[str, Any], file: str, options: ReadOptions, stem: str) -> Conversation:
    """WhisperX style: ``{"segments": [{"start", "end", "text", "speaker"}]}``."""
    raw: list[RawTurn] = []
    for pos, seg in enumerate(data["segments"]):
        if not isinstance(seg, dict):
            raise InputError(f"segment {pos} is not a JSON object.", file=file, record=pos, code=E_SCHEMA)
        speaker = seg.get("speaker")
        if not speaker:
            raise InputError(
                f"segment {pos} has no 'speaker' label.", file=file, record=pos, code=E_SCHEMA,
                hint="run speaker diarisation (e.g. WhisperX with diarize) so that each segment names its speaker.")
        raw.append(RawTurn(speaker=str(speaker), text=str(seg.get("text", "")),
                           start=_seconds(seg.get("start"), file, f"segment {pos}"),
                           end=_seconds(seg.get("end"), file, f"segment {pos}")))
    meta = {k: v for k, v in data.items() if k not in ("segments", "word_segments", "language", "id")}
    if data.get("language"):
        meta["asr_language"] = data["language"]
    return build_conversation(str(data.get("id") or stem), merge_consecutive(raw), options, file=file,
                              channel=data.get("channel", "call"), meta=meta)


def read_transcribe(data: Mapping[str, Any], file: str, options: ReadOptions, stem: str) -> Conversation:
    """Amazon Transcribe with speaker or channel identification."""
    results = data["results"]
    conv_id = str(data.get("jobName") or stem)
    segments = results.get("audio_segments")
    raw: list[RawTurn] = []
    if isinstance(segments, list) and segments and all(isinstance(s, dict) and s.get("speaker_label") for s in segments):
        for pos, seg in enumerate(segments):
            raw.append(RawTurn(speaker=str(seg["speaker_label"]), text=str(seg.get("transcript", "")),
                               start=_seconds(seg.get("start_time"), file, f"audio segment {pos}"),
                               end=_seconds(seg.get("end_time"), file, f"audio segment {pos}")))
    else:
        raw = _from_items(results, file)
    return build_conversation(conv_id, merge_consecutive(raw), options, file=file, channel="call",
                              meta={"transcribe_job": data.get("jobName")} if data.get("jobName") else {})


def _from_items(results: Mapping[str, Any], file: str) -> list[RawTurn]:
    items = results.get("items")
    if not isinstance(items, list):
        raise InputError("Transcribe output without 'results.items'.", file=file, code=E_SCHEMA)
    lookup = _speaker_lookup(results, file)
    raw: list[RawTurn] = []
    for pos, item in enumerate(items):
        alts = item.get("alternatives") or [{}]
        word = str(alts[0].get("content", ""))
        if item.get("type") == "punctuation":
            if raw:
                last = raw[-1]
                raw[-1] = RawTurn(speaker=last.speaker, text=last.text + word, start=last.start, end=last.end)
            continue
        start = _seconds(item.get("start_time"), file, f"item {pos}")
        end = _seconds(item.get("end_time"), file, f"item {pos}")
        speaker = item.get("speaker_label") or item.get("channel_label") or lookup(start)
        if speaker is None:
            raise InputError(
                f"item {pos} ({word!r} at {start}s) has no speaker.", file=file, record=pos, code=E_SCHEMA,
                hint="enable speaker or channel identification in the Transcribe job.")
        if raw and raw[-1].speaker == speaker:
            last = raw[-1]
            raw[-1] = RawTurn(speaker=last.speaker, text=f"{last.text} {word}", start=last.start, end=end)
        else:
            raw.append(RawTurn(speaker=str(speaker), text=word, start=start, end=end))
    return raw


def _speaker_lookup(results: Mapping[str, Any], file: str):  # type: ignore[no-untyped-def]
    """Map an item's start time to the speaker (or channel) segment that holds it."""
    spans: list[tuple[float, float, str]] = []
    for seg in (results.get("speaker_labels") or {}).get("segments", []):
        spans.append((_seconds(seg.get("start_time"), file, "speaker segment") or 0.0,
                      _seconds(seg.get("end_time"), file, "speaker segment") or 0.0, str(seg.get("speaker_label"))))
    for ch in (results.get("channel_labels") or {}).get("channels", []):
        for it in ch.get("items", []):
            t = _seconds(it.get("start_time"), file, "channel item")
            if t is not None:
                spans.append((t, _seconds(it.get("end_time"), file, "channel item") or t, str(ch.get("channel_label"))))
    spans.sort()
    starts = [s[0] for s in spans]

    def lookup(t: float | None) -> str | None:
        if t is None or not spans:
            return None
        i = bisect.bisect_right(starts, t + 1e-6) - 1
        if i >= 0 and spans[i][0] <= t <= spans[i][1] + 1e-6:
            return spans[i][2]
        return None

    return lookup
