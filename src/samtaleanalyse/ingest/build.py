"""From what a reader found (labels, texts, times) to a checked ``Conversation``.

Every format goes through here, so the rules (speaker mapping, empty turns, length limit,
both parties present) are the same for JSON, CSV, subtitles and speech-to-text output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from ..conversation import CHANNELS, LANGUAGES, META_FIELDS, Conversation, Metadata, Turn
from ..errors import (E_BAD_ID, E_MISSING_ROLE, E_NO_TURNS, E_SCHEMA, E_TOO_DEEP, E_TOO_MANY_TURNS,
                      E_TURN_TOO_LONG, E_UNKNOWN_SPEAKER, InputError, excerpt)
from ..text.normalise import part_marker
from .limits import DEFAULT_LIMITS, Limits, json_depth_exceeds
from .speakers import SpeakerMap


@dataclass(frozen=True)
class ReadOptions:
    """Settings shared by all readers."""

    speakers: SpeakerMap = field(default_factory=SpeakerMap)
    limits: Limits = DEFAULT_LIMITS
    # CSV column names: canonical name -> column header in the file.
    csv_columns: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None
    channel: str | None = None
    # Symbolic links inside input folders are errors unless this is set.
    follow_symlinks: bool = False
    # A user's field mapping for JSON exports of other platforms (ingest.platforms.mapping.JsonMapping).
    json_mapping: Any = None

    @property
    def max_turn_chars(self) -> int:
        return self.limits.max_turn_chars


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


def merge_split_messages(turns: Sequence[Turn], max_chars: int) -> tuple[list[Turn], list[str]]:
    """One turn for each message a speaker sent in numbered parts: "(1/2) ...", "(2/2) ..." in a row.

    Only a complete run is merged (parts 1 to n, in order, one speaker, nothing between), and only within the
    turn length limit; the part markers stay in the text (the normaliser hides them from the model). Returns
    the turns, numbered again, and a note for each merge.
    """
    out: list[Turn] = []
    notes: list[str] = []
    i = 0
    while i < len(turns):
        first = turns[i]
        marker = part_marker(first.text) if first.role != "system" else None
        if marker is not None and marker[0] == 1:
            n = marker[1]
            run = list(turns[i:i + n])
            if (len(run) == n and all(t.role == first.role and t.speaker == first.speaker for t in run)
                    and all(part_marker(t.text) == (k, n) for k, t in enumerate(run, start=1))):
                text = " ".join(t.text for t in run)
                if len(text) <= max_chars:
                    out.append(replace(first, index=len(out), text=text, end=run[-1].end if run[-1].end is not None
                                       else first.end, parts=n))
                    notes.append(f"turns {i + 1}-{i + n} ({first.role}) are one message sent in {n} parts: "
                                 f"merged into turn {len(out)}")
                    i += n
                    continue
        out.append(first if first.index == len(out) else replace(first, index=len(out)))
        i += 1
    return out, notes


def conversation_id(value: Any, limits: Limits, where: Mapping[str, Any]) -> str:
    """The documented rule for ids: a non-empty string (stripped) or a whole number (written in decimal).

    Anything else (true, 1.5, a list, an object) is refused rather than turned into a Python repr.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"the conversation id must be a string or a whole number, not {type(value).__name__} "
                         f"{excerpt(value, 40)}.", **where, code=E_BAD_ID)
    text = str(value).strip() if isinstance(value, str) else str(value)
    if not text:
        raise InputError("the conversation has an empty id.", **where, code=E_BAD_ID)
    if len(text) > limits.max_id_chars:
        raise InputError(f"the conversation id is {len(text)} characters long, over the limit of "
                         f"{limits.max_id_chars} ({excerpt(text, 40)}).", **where, code=E_BAD_ID)
    return text


def bounded_meta(meta: Mapping[str, Any], limits: Limits, where: Mapping[str, Any],
                 warnings: list[str]) -> dict[str, Any]:
    """Metadata within the limits; an over-long value, a too-deep value or fields over the count are dropped
    with a warning that names them (a 200 MB field must never reach the outputs)."""
    kept: dict[str, Any] = {}
    for key, value in meta.items():
        name = str(key)[:80]
        if value is None:
            continue
        if len(kept) >= limits.max_meta_fields:
            warnings.append(f"metadata fields after the first {limits.max_meta_fields} dropped")
            break
        if isinstance(value, (dict, list)) and json_depth_exceeds(value, limits.max_json_depth):
            raise InputError(f"metadata field {excerpt(name, 40)} nests deeper than {limits.max_json_depth} levels.",
                             **where, code=E_TOO_DEEP)
        size = len(value) if isinstance(value, str) else len(Metadata.flat(value)) if isinstance(value, (dict, list)) else 0
        if size > limits.max_meta_chars:
            warnings.append(f"metadata field {name!r} dropped: {size:,} characters, over the limit of "
                            f"{limits.max_meta_chars:,}")
            continue
        kept[name] = value
    return kept


def build_conversation(
    conv_id: Any,
    raw_turns: Sequence[RawTurn],
    options: ReadOptions,
    *,
    file: str,
    record: str | int | None = None,
    line: int | None = None,
    language: str | None = None,
    channel: str | None = None,
    meta: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
    decode_notes: Mapping[int, str] | None = None,
) -> Conversation:
    """Check and map ``raw_turns``; raise ``InputError`` naming the place when it cannot.

    ``warnings`` come from the reader (a segment without speaker attached to the previous one, say);
    ``decode_notes`` are the file's lines that were not valid UTF-8, reported on the turns read from them.
    """
    where: dict[str, Any] = {"file": file, "record": record, "line": line}
    limits = options.limits
    conv_id = conversation_id(conv_id, limits, where)
    warnings = list(warnings)
    if len(raw_turns) > limits.max_turns:
        raise too_many_turns(len(raw_turns), limits, where)
    if decode_notes:
        warnings += [decode_notes[r.line] for r in raw_turns if r.line is not None and r.line in decode_notes]
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
                        f"a third diarised speaker {excerpt(raw.speaker, 40)} appears ({place}); the first-speaker "
                        "convention only covers two parties.", **{**where, "line": raw.line or line},
                        code=E_UNKNOWN_SPEAKER, hint="map the labels in a speaker map ([speakers] in TOML).")
                diarised_roles[raw.speaker] = first if not diarised_roles else other
            role = diarised_roles[raw.speaker]
        if role is None:
            raise InputError(
                f"unknown speaker label {excerpt(raw.speaker, 40)} ({place}).", **{**where, "line": raw.line or line},
                code=E_UNKNOWN_SPEAKER,
                hint=(f"map it with --speaker '{_short(raw.speaker)}=agent' (or customer/system), or in a speaker map file, "
                      "or pass --others-are-agents when every label but the customer's is an agent; "
                      "for anonymous diariser labels (spk_0, SPEAKER_00) see --first-speaker."),
            )
        # The length is checked before whitespace is collapsed, so a huge turn costs nothing to refuse;
        # padding (fixed-width exports) gets a generous margin.
        if len(raw.text) > 4 * limits.max_turn_chars:
            raise _too_long(role, place, len(raw.text), limits, {**where, "line": raw.line or line})
        text = " ".join(raw.text.split()) if role != "system" else raw.text.strip()
        if not text:
            warnings.append(f"empty {role} turn at {place} skipped")
            continue
        if len(text) > limits.max_turn_chars:
            raise _too_long(role, place, len(text), limits, {**where, "line": raw.line or line})
        if raw.language is not None and raw.language not in LANGUAGES:
            raise InputError(f"turn language {raw.language!r} at {place} is not one of {', '.join(LANGUAGES)}.",
                             **where, code=E_SCHEMA)
        for name, value in (("start", raw.start), ("end", raw.end)):
            # JSON's 1e400 reads as infinity: a time no report or result line can hold.
            if value is not None and not math.isfinite(value):
                raise InputError(f"turn time {name!r} at {place} is not a finite number of seconds.", **where,
                                 code=E_SCHEMA)
        turns.append(Turn(index=len(turns), role=role, text=text, speaker=raw.speaker, start=raw.start,
                          end=raw.end, timestamp=raw.timestamp, language=raw.language))
    if not turns:
        raise InputError("the conversation has no turns with text.", **where, code=E_NO_TURNS)
    turns, merged = merge_split_messages(turns, limits.max_turn_chars)
    warnings += merged
    roles = {t.role for t in turns}
    missing = [r for r in ("customer", "agent") if r not in roles]
    if missing:
        labels = sorted({t.speaker for t in turns})
        seen = ", ".join(excerpt(lab, 30) for lab in labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        raise InputError(
            f"the conversation has no {' and no '.join(missing)} turn (speakers seen: {seen}).",
            **where, code=E_MISSING_ROLE,
            hint="check the speaker labels; both a customer and an agent must speak for a conversation to be scored.",
        )
    language = language or options.language
    if language is not None and language not in LANGUAGES:
        raise InputError(f"language {language!r} is not one of {', '.join(LANGUAGES)}.", **where, code=E_SCHEMA)
    channel = channel or options.channel
    if channel is not None and channel not in CHANNELS:
        raise InputError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}.", **where, code=E_SCHEMA)
    meta = bounded_meta(meta or {}, limits, where, warnings)
    return Conversation(
        id=conv_id, turns=tuple(turns), language=language, channel=channel,  # type: ignore[arg-type]
        meta=Metadata.from_dict(meta), source=_source(file, record, line), warnings=tuple(dict.fromkeys(warnings)),
    )


def too_many_turns(n: int, limits: Limits, where: Mapping[str, Any]) -> InputError:
    return InputError(f"the conversation has {n:,} turns, over the limit of {limits.max_turns:,}.", **where,
                      code=E_TOO_MANY_TURNS,
                      hint="check that the export keeps conversations apart (the id column), or raise --max-turns.")


def _too_long(role: str, place: str, length: int, limits: Limits, where: Mapping[str, Any]) -> InputError:
    return InputError(f"a {role} turn at {place} is {length} characters long, over the limit of "
                      f"{limits.max_turn_chars}.", **where, code=E_TURN_TOO_LONG,
                      hint="check that the export has turn boundaries, or raise --max-turn-chars.")


def _short(label: str) -> str:
    return excerpt(label, 40)[1:-1]


def _source(file: str, record: str | int | None, line: int | None) -> str:
    if line is not None:
        return f"{file}:{line}"
    if record is not None:
        return f"{file}#{record}"
    return file
