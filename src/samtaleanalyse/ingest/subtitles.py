"""WebVTT and SRT subtitles from call recordings.

The speaker comes from a ``<v Speaker>`` voice tag or a ``Speaker:`` prefix; a cue with
neither continues the previous speaker (subtitle files mark only speaker changes).
Consecutive cues of one speaker merge into one turn with the first start and last end.
"""
from __future__ import annotations

import re
from typing import Iterator, Mapping

from ..conversation import LANGUAGES, Conversation
from ..errors import E_BAD_TIMESTAMP, E_SCHEMA, InputError, excerpt
from .build import RawTurn, ReadOptions, build_conversation, merge_consecutive

_TIMING = re.compile(
    r"^\s*(?P<a>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<b>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")
_PREFIX = re.compile(r"^\s*-?\s*(?P<label>[^\W\d][\w .'’-]{0,39}?)\s*:\s+(?P<text>.*)$")


def parse_time(value: str) -> float:
    parts = value.replace(",", ".").split(":")
    seconds = float(parts[-1])
    for pos, part in enumerate(reversed(parts[:-1]), 1):
        seconds += int(part) * 60 ** pos
    return round(seconds, 3)


def read_subtitles(text: str, file: str, options: ReadOptions, stem: str,
                   notes: Mapping[int, str] | None = None) -> Iterator[Conversation | InputError]:
    lines = text.split("\n")
    is_vtt = lines[0].strip().startswith("WEBVTT")
    meta: dict[str, str] = {}
    raw: list[RawTurn] = []
    i = 1 if is_vtt else 0
    try:
        while i < len(lines):
            line = lines[i]
            if is_vtt and (line.startswith("NOTE") or line.startswith("STYLE") or line.startswith("REGION")):
                while i < len(lines) and lines[i].strip():
                    i += 1
                continue
            m = _TIMING.match(line)
            if not m:
                if "-->" in line:
                    raise InputError(f"cannot read the cue timing {excerpt(line.strip(), 40)}.", file=file, line=i + 1,
                                     code=E_BAD_TIMESTAMP, hint="write times as 00:01:02.345 --> 00:01:04.000.")
                if is_vtt and not raw and ":" in line and not line.strip().isdigit():
                    key, _, value = line.partition(":")  # VTT header lines such as "Language: nb"
                    meta[key.strip().lower()] = value.strip()
                i += 1
                continue
            cue_line = i + 1
            start, end = parse_time(m.group("a")), parse_time(m.group("b"))
            i += 1
            body: list[str] = []
            while i < len(lines) and lines[i].strip():
                body.append(lines[i])
                i += 1
            raw.extend(_cue_turns(body, start, end, cue_line, raw, file))
        language = meta.pop("language", None)
        yield build_conversation(meta.pop("id", stem), merge_consecutive(raw), options, file=file,
                                 language=language if language in LANGUAGES else None,
                                 channel="call", meta={k: v for k, v in meta.items() if k != "kind"},
                                 decode_notes=notes)
    except InputError as err:
        yield err


def _cue_turns(body: list[str], start: float, end: float, line: int, previous: list[RawTurn],
               file: str) -> list[RawTurn]:
    out: list[RawTurn] = []
    for text_line in body:
        speaker = None
        voice = _VOICE.search(text_line)
        if voice:
            speaker = voice.group(1).strip()
        clean = _TAG.sub("", text_line).strip()
        if not voice and (pm := _PREFIX.match(clean)):
            speaker, clean = pm.group("label").strip(), pm.group("text").strip()
        if speaker is None:
            if out:
                speaker = out[-1].speaker
            elif previous:
                speaker = previous[-1].speaker
            else:
                raise InputError("the first cue names no speaker.", file=file, line=line, code=E_SCHEMA,
                                 hint="use voice tags (<v Agent>...) or 'Agent: ' at the start of a cue.")
        out.append(RawTurn(speaker=speaker, text=clean, line=line, start=start, end=end))
    return merge_consecutive(out)
