"""From what a reader found (labels, texts, times) to a checked ``Conversation``.

Every format goes through here, so the rules (speaker mapping, empty turns, length limit,
both parties present) are the same for JSON, CSV, subtitles and speech-to-text output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..conversation import CHANNELS, LANGUAGES, Conversation, Metadata, Turn
from ..errors import (E_MISSING_ROLE, E_NO_TURNS, E_SCHEMA, E_TURN_TOO_LONG, E_UNKNOWN_SPEAKER,
                      InputError)
from .speakers import SpeakerMap


@dataclass(frozen=True)
class ReadOptions:
    """Settings shared by all readers."""

    speakers: SpeakerMap = field(default_factory=SpeakerMap)
    max_turn_chars: int = 5000
    # CSV column names: canonical name -> column header in the file.
    csv_columns: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class RawTurn:
    speaker: str
    text: str
    line: int | None = None
    start: float | None = None
    end: float | None = None
    timestamp: str | None = None
    language: str | None = None
    role: str | None = None  # when the format already states the role


def merge_consecutive(turns: Sequence[RawTurn]) -> list[RawTurn]:
    """Join consecutive cues of one speaker (subtitles, ASR segments) into one turn."""
    merged: list[RawTurn] = []
    for t in turns:
        if merged and merged[-1].speaker == t.speaker and t.text.strip():
            prev = merged[-1]
            merged[-1] = RawTurn(
                speaker=prev.speaker, text=f"{prev.text} {t.text}".strip(), line=prev.line,
                start=prev.start, end=t.end if t.end is not None else prev.end,
                timestamp=prev.timestamp, language=prev.language, role=prev.role,
            )
        else:
            merged.append(t)
    return merged


def build_conversation(
    conv_id: str,
    raw_turns: Sequence[RawTurn],
    options: ReadOptions,
    *,
    file: str,
    record: str | int | None = None,
    line: int | None = None,
    language: str | None = None,
    channel: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Conversation:
    """Check and map ``raw_turns``; raise ``InputError`` naming the place when it cannot."""
    where: dict[str, Any] = {"file": file, "record": record, "line": line}
    warnings: list[str] = []
    diarised_roles: dict[str, str] = {}
    turns: list[Turn] = []
    for pos, raw in enumerate(raw_turns):
        place = f"line {raw.line}" if raw.line is not None else f"turn {pos + 1}"
        role = raw.role or options.speakers.role_of(raw.speaker)
        if role is None and options.speakers.first_diarised_speaker and SpeakerMap.is_diarised_label(raw.speaker):
            if raw.speaker not in diarised_roles:
                first = options.speakers.first_diarised_speaker
                other = "customer" if first == "agent" else "agent"
                if len(diarised_roles) >= 2:
                    raise InputError(
                        f"a third diarised speaker {raw.speaker!r} appears ({place}); the first-speaker "
                        "convention only covers two parties.", **{**where, "line": raw.line or line},
                        code=E_UNKNOWN_SPEAKER, hint="map the labels in a speaker map ([speakers] in TOML).")
                diarised_roles[raw.speaker] = first if not diarised_roles else other
            role = diarised_roles[raw.speaker]
        if role is None:
            raise InputError(
                f"unknown speaker label {raw.speaker!r} ({place}).", **{**where, "line": raw.line or line},
                code=E_UNKNOWN_SPEAKER,
                hint=(f"map it with --speaker '{raw.speaker}=agent' (or customer/system), or in a speaker map file; "
                      "for anonymous diariser labels (spk_0, SPEAKER_00) see --first-speaker."),
            )
        text = " ".join(raw.text.split()) if role != "system" else raw.text.strip()
        if not text:
            warnings.append(f"empty {role} turn at {place} skipped")
            continue
        if len(text) > options.max_turn_chars:
            raise InputError(
                f"a {role} turn at {place} is {len(text)} characters long, over the limit of "
                f"{options.max_turn_chars}.", **{**where, "line": raw.line or line}, code=E_TURN_TOO_LONG,
                hint="check that the export has turn boundaries, or raise --max-turn-chars.",
            )
        if raw.language is not None and raw.language not in LANGUAGES:
            raise InputError(f"turn language {raw.language!r} at {place} is not one of {', '.join(LANGUAGES)}.",
                             **where, code=E_SCHEMA)
        turns.append(Turn(index=len(turns), role=role, text=text, speaker=raw.speaker, start=raw.start,
                          end=raw.end, timestamp=raw.timestamp, language=raw.language))
    if not turns:
        raise InputError("the conversation has no turns with text.", **where, code=E_NO_TURNS)
    roles = {t.role for t in turns}
    missing = [r for r in ("customer", "agent") if r not in roles]
    if missing:
        labels = sorted({t.speaker for t in turns})
        raise InputError(
            f"the conversation has no {' and no '.join(missing)} turn (speakers seen: {', '.join(labels)}).",
            **where, code=E_MISSING_ROLE,
            hint="check the speaker labels; both a customer and an agent must speak for a conversation to be scored.",
        )
    language = language or options.language
    if language is not None and language not in LANGUAGES:
        raise InputError(f"language {language!r} is not one of {', '.join(LANGUAGES)}.", **where, code=E_SCHEMA)
    channel = channel or options.channel
    if channel is not None and channel not in CHANNELS:
        raise InputError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}.", **where, code=E_SCHEMA)
    return Conversation(
        id=str(conv_id), turns=tuple(turns), language=language, channel=channel,  # type: ignore[arg-type]
        meta=Metadata.from_dict(meta or {}), source=_source(file, record, line), warnings=tuple(warnings),
    )


def _source(file: str, record: str | int | None, line: int | None) -> str:
    if line is not None:
        return f"{file}:{line}"
    if record is not None:
        return f"{file}#{record}"
    return file
