"""The canonical JSON / JSONL format: ``{"id", "turns": [{"speaker", "text", ...}], ...}``."""
from __future__ import annotations

import json
from typing import Any, Iterator

from ..conversation import Conversation
from ..errors import E_BAD_JSON, E_SCHEMA, InputError
from .asr import looks_like_transcribe, looks_like_whisper, read_transcribe, read_whisper
from .build import RawTurn, ReadOptions, build_conversation

_CONV_FIELDS = {"id", "turns", "language", "channel", "findings", "source", "warnings",
                "attitude_trajectory", "score", "summary"}
_TURN_TIME_FIELDS = ("start", "end")


def read_jsonl(text: str, file: str, options: ReadOptions) -> Iterator[Conversation | InputError]:
    """One conversation per line; a broken line costs only that line."""
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(f"broken JSON: {exc.msg} at column {exc.colno}.", file=file, line=lineno,
                             code=E_BAD_JSON, hint="each line must be one complete JSON object.")
            continue
        try:
            yield record_to_conversation(data, options, file=file, line=lineno)
        except InputError as err:
            yield err


def read_json(text: str, file: str, options: ReadOptions, stem: str) -> Iterator[Conversation | InputError]:
    """A JSON file: one conversation, a list of them, or speech-to-text output."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if "\n{" in text.strip() and text.lstrip().startswith("{"):
            # Several objects, one per line, in a .json file: read it as JSONL.
            yield from read_jsonl(text, file, options)
            return
        yield InputError(f"broken JSON: {exc.msg} at column {exc.colno}.", file=file, line=exc.lineno,
                         code=E_BAD_JSON)
        return
    if isinstance(data, list):
        for pos, item in enumerate(data):
            try:
                yield record_to_conversation(item, options, file=file, record=pos)
            except InputError as err:
                yield err
        return
    try:
        if isinstance(data, dict) and looks_like_whisper(data):
            yield read_whisper(data, file, options, stem)
        elif isinstance(data, dict) and looks_like_transcribe(data):
            yield read_transcribe(data, file, options, stem)
        elif isinstance(data, dict) and isinstance(data.get("conversations"), list):
            for pos, item in enumerate(data["conversations"]):
                try:
                    yield record_to_conversation(item, options, file=file, record=pos)
                except InputError as err:
                    yield err
        else:
            yield record_to_conversation(data, options, file=file, default_id=stem)
    except InputError as err:
        yield err


def record_to_conversation(
    data: Any, options: ReadOptions, *, file: str, line: int | None = None, record: int | None = None,
    default_id: str | None = None,
) -> Conversation:
    where: dict[str, Any] = {"file": file, "line": line, "record": record}
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object for a conversation, found {type(data).__name__}.", **where,
                         code=E_SCHEMA)
    turns = data.get("turns")
    if not isinstance(turns, list):
        raise InputError("the conversation has no 'turns' list.", **where, code=E_SCHEMA,
                         hint='write {"id": ..., "turns": [{"speaker": "kunde", "text": "..."}]}.')
    conv_id = data.get("id", default_id)
    if conv_id in (None, ""):
        raise InputError("the conversation has no 'id'.", **where, code=E_SCHEMA)
    raw: list[RawTurn] = []
    for pos, t in enumerate(turns):
        if not isinstance(t, dict):
            raise InputError(f"turn {pos} is not a JSON object.", **where, code=E_SCHEMA)
        speaker = t.get("speaker", t.get("role"))
        if not isinstance(speaker, str) or not speaker.strip():
            raise InputError(f"turn {pos} has no 'speaker'.", **where, code=E_SCHEMA)
        text = t.get("text")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise InputError(f"turn {pos}: 'text' must be a string, found {type(text).__name__}.", **where,
                             code=E_SCHEMA)
        times: dict[str, float | None] = {}
        for name in _TURN_TIME_FIELDS:
            value = t.get(name)
            if value is not None and not isinstance(value, (int, float)):
                raise InputError(f"turn {pos}: '{name}' must be seconds as a number.", **where, code=E_SCHEMA)
            times[name] = float(value) if value is not None else None
        raw.append(RawTurn(speaker=speaker, text=text, start=times["start"], end=times["end"],
                           timestamp=_opt_str(t.get("timestamp")), language=t.get("language")))
    meta = {k: v for k, v in data.items() if k not in _CONV_FIELDS}
    return build_conversation(str(conv_id), raw, options, language=data.get("language"),
                              channel=data.get("channel"), meta=meta, **where)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
