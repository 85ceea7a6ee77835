"""Speech-to-text output from call recorders: WhisperX segments and Amazon Transcribe JSON."""
from __future__ import annotations

import bisect
from typing import Any, Callable, Mapping

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
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{what}: its time is not a number of seconds.", file=file, code=E_SCHEMA)
    try:
        seconds = float(value)
    except ValueError:
        raise InputError(f"{what}: time {str(value)[:20]!r} is not a number of seconds.", file=file,
                         code=E_SCHEMA) from None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise InputError(f"{what}: its time is not a finite number.", file=file, code=E_SCHEMA)
    return seconds


def _text(value: Any, file: str, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InputError(f"{what}: its text is not a string.", file=file, code=E_SCHEMA)
    return str(value)


def read_whisper(data: Mapping[str, Any], file: str, options: ReadOptions, stem: str, *,
                 record: int | str | None = None, line: int | None = None) -> Conversation:
    """WhisperX style: ``{"segments": [{"start", "end", "text", "speaker"}]}``.

    A segment the diariser could not place (no ``speaker``) joins the previous speaker's turn (the next
    one's at the start) with a warning; only a file with no speaker at all is refused.
    """
    where: dict[str, Any] = {"file": file, "record": record, "line": line}
    segments = data["segments"]
    if len(segments) > 20 * options.limits.max_turns:
        raise InputError(f"{len(segments):,} segments, over the limit of {20 * options.limits.max_turns:,}.",
                         **where, code=E_SCHEMA)
    found: list[tuple[int, str | None, dict[str, Any]]] = []
    for pos, seg in enumerate(segments):
        if not isinstance(seg, dict):
            raise InputError(f"segment {pos} is not a JSON object.", **{**where, "record": record if record is not None else pos},
                             code=E_SCHEMA)
        speaker = seg.get("speaker")
        found.append((pos, str(speaker) if isinstance(speaker, (str, int)) and str(speaker).strip() else None, seg))
    known = [s for _, s, _ in found if s is not None]
    if not known:
        raise InputError(
            "no segment has a 'speaker' label.", **where, code=E_SCHEMA,
            hint="run speaker diarisation (e.g. WhisperX with diarize) so that each segment names its speaker.")
    warnings: list[str] = []
    raw: list[RawTurn] = []
    for pos, speaker, seg in found:
        if speaker is None:
            speaker = raw[-1].speaker if raw else known[0]
            side = "previous" if raw else "next"
            warnings.append(f"segment {pos} has no speaker; attached to the {side} speaker's turn")
        raw.append(RawTurn(speaker=speaker, text=_text(seg.get("text"), file, f"segment {pos}"),
                           start=_seconds(seg.get("start"), file, f"segment {pos}"),
                           end=_seconds(seg.get("end"), file, f"segment {pos}")))
    meta = {k: v for k, v in data.items() if k not in ("segments", "word_segments", "language", "id", "channel")}
    if isinstance(data.get("language"), str):
        meta["asr_language"] = data["language"]
    channel = data.get("channel", "call")
    return build_conversation(data.get("id") or stem, merge_consecutive(raw), options, **where,
                              channel=channel if isinstance(channel, str) else None, meta=meta, warnings=warnings)


def read_transcribe(data: Mapping[str, Any], file: str, options: ReadOptions, stem: str, *,
                    record: int | str | None = None, line: int | None = None) -> Conversation:
    """Amazon Transcribe with speaker or channel identification."""
    where: dict[str, Any] = {"file": file, "record": record, "line": line}
    results = data["results"]
    job = data.get("jobName")
    conv_id = job if isinstance(job, str) and job else stem
    segments = results.get("audio_segments")
    raw: list[RawTurn] = []
    if isinstance(segments, list) and segments and all(isinstance(s, dict) and s.get("speaker_label") for s in segments):
        for pos, seg in enumerate(segments):
            raw.append(RawTurn(speaker=str(seg["speaker_label"]),
                               text=_text(seg.get("transcript"), file, f"audio segment {pos}"),
                               start=_seconds(seg.get("start_time"), file, f"audio segment {pos}"),
                               end=_seconds(seg.get("end_time"), file, f"audio segment {pos}")))
    else:
        raw = _from_items(results, file, options)
    return build_conversation(conv_id, merge_consecutive(raw), options, **where, channel="call",
                              meta={"transcribe_job": conv_id} if conv_id != stem else {})


def _from_items(results: Mapping[str, Any], file: str, options: ReadOptions) -> list[RawTurn]:
    items = results.get("items")
    if not isinstance(items, list):
        raise InputError("Transcribe output without a 'results.items' list.", file=file, code=E_SCHEMA)
    lookup = _speaker_lookup(results, file)
    raw: list[RawTurn] = []
    for pos, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"item {pos} is not a JSON object.", file=file, record=pos, code=E_SCHEMA)
        alts = item.get("alternatives")
        first = alts[0] if isinstance(alts, list) and alts and isinstance(alts[0], dict) else {}
        word = _text(first.get("content"), file, f"item {pos}")
        if item.get("type") == "punctuation":
            if raw:
                last = raw[-1]
                raw[-1] = RawTurn(speaker=last.speaker, text=last.text + word, start=last.start, end=last.end)
            continue
        start = _seconds(item.get("start_time"), file, f"item {pos}")
        end = _seconds(item.get("end_time"), file, f"item {pos}")
        speaker = item.get("speaker_label") or item.get("channel_label") or lookup(start)
        if not isinstance(speaker, (str, int)) or isinstance(speaker, bool):
            raise InputError(
                f"item {pos} (at {start}s) has no speaker.", file=file, record=pos, code=E_SCHEMA,
                hint="enable speaker or channel identification in the Transcribe job.")
        if raw and raw[-1].speaker == str(speaker):
            last = raw[-1]
            if len(last.text) > 4 * options.limits.max_turn_chars:
                continue  # the turn is already refused as too long; do not grow it further
            raw[-1] = RawTurn(speaker=last.speaker, text=f"{last.text} {word}", start=last.start, end=end)
        else:
            raw.append(RawTurn(speaker=str(speaker), text=word, start=start, end=end))
    return raw


def _speaker_lookup(results: Mapping[str, Any], file: str) -> Callable[[float | None], str | None]:
    """Map an item's start time to the speaker (or channel) segment that holds it."""
    spans: list[tuple[float, float, str]] = []
    labels = results.get("speaker_labels")
    for seg in (labels.get("segments") or [] if isinstance(labels, dict) else []):
        if isinstance(seg, dict):
            spans.append((_seconds(seg.get("start_time"), file, "speaker segment") or 0.0,
                          _seconds(seg.get("end_time"), file, "speaker segment") or 0.0, str(seg.get("speaker_label"))))
    channels = results.get("channel_labels")
    for ch in (channels.get("channels") or [] if isinstance(channels, dict) else []):
        if not isinstance(ch, dict):
            continue
        for it in ch.get("items") or []:
            if not isinstance(it, dict):
                continue
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
