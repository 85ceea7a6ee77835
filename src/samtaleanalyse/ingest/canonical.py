"""The canonical JSON / JSONL record: ``{"id", "turns": [{"speaker", "text", ...}], ...}``."""
from __future__ import annotations

from typing import Any

from ..conversation import Conversation
from ..errors import E_SCHEMA, InputError
from .build import RawTurn, ReadOptions, build_conversation, too_many_turns

_CONV_FIELDS = {"id", "turns", "language", "channel", "findings", "source", "warnings",
                "attitude_trajectory", "score", "score_breakdown", "summary", "feedback_language", "model"}
_TURN_TIME_FIELDS = ("start", "end")


def record_to_conversation(
    data: Any, options: ReadOptions, *, file: str, line: int | None = None, record: int | str | None = None,
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
    conv_id = data["id"] if "id" in data else default_id
    if conv_id is None or conv_id == "":
        raise InputError("the conversation has no 'id'.", **where, code=E_SCHEMA)
    if len(turns) > options.limits.max_turns:
        # Checked before each turn is looked at: 100,000 turns cost nothing to refuse.
        raise too_many_turns(len(turns), options.limits, where)
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
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise InputError(f"turn {pos}: '{name}' must be seconds as a number.", **where, code=E_SCHEMA)
            try:
                times[name] = float(value) if value is not None else None
            except OverflowError:  # a whole number beyond any float
                raise InputError(f"turn {pos}: '{name}' is not a finite number of seconds.", **where,
                                 code=E_SCHEMA) from None
        timestamp = t.get("timestamp")
        if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, (str, int, float))):
            raise InputError(f"turn {pos}: 'timestamp' must be a string or a number.", **where, code=E_SCHEMA)
        raw.append(RawTurn(speaker=speaker, text=text, start=times["start"], end=times["end"],
                           timestamp=None if timestamp is None else str(timestamp), language=t.get("language")))
    meta = {k: v for k, v in data.items() if k not in _CONV_FIELDS}
    return build_conversation(conv_id, raw, options, language=data.get("language"),
                              channel=data.get("channel"), meta=meta, **where)
