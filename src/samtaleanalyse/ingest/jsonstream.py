"""JSON and JSONL inputs, streamed: one record at a time, whatever the file's size.

A JSONL line or an item of a JSON list is one *record*. A record is read by the first reader that knows
it: the canonical format (a ``turns`` list), the user's field mapping (``--json-map``), speech-to-text output
(WhisperX, Amazon Transcribe), or a contact-centre platform's export (``ingest.platforms``). An object that
only wraps records (``{"conversations": [...]}``, ``{"tickets": [...]}``) is opened and its items read the
same way. Large JSON files are never parsed whole: their top-level list is streamed with ijson.
"""
from __future__ import annotations

import json
from typing import Any, BinaryIO, Iterable, Iterator, Mapping

from ..conversation import Conversation
from ..errors import E_BAD_JSON, E_SCHEMA, E_TOO_DEEP, E_TOO_LARGE, InputError
from .asr import looks_like_transcribe, looks_like_whisper, read_transcribe, read_whisper
from .build import ReadOptions
from .canonical import record_to_conversation
from .limits import json_depth_exceeds
from .platforms import PLATFORMS, Place, match_platform
from .textio import Line

Item = Conversation | InputError
# Keys of a wrapping object whose list holds the records; platforms add their own.
ENVELOPE_KEYS = ("conversations",)
SIDELOADS = ("users", "groups", "organizations")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str, place: Place, max_depth: int) -> Any:
    """``json.loads`` that refuses NaN/Infinity and hostile nesting with coded errors naming the place."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        line = place.line if place.line is not None else exc.lineno
        raise InputError(f"broken JSON: {exc.msg} at column {exc.colno}.", file=place.file, line=line,
                         record=place.record, code=E_BAD_JSON) from None
    except ValueError as exc:  # NaN, Infinity
        raise InputError(f"broken JSON: {exc}.", file=place.file, line=place.line, record=place.record,
                         code=E_BAD_JSON) from None
    except RecursionError:
        raise _too_deep(place, max_depth) from None
    if isinstance(data, (dict, list)) and json_depth_exceeds(data, max_depth):
        raise _too_deep(place, max_depth)
    return data


def _too_deep(place: Place, max_depth: int) -> InputError:
    return InputError(f"the JSON nests deeper than {max_depth} levels.", file=place.file, line=place.line,
                      record=place.record, code=E_TOO_DEEP, hint="a conversation needs only a few levels; check the export.")


def read_record(data: Any, place: Place, options: ReadOptions, *, default_id: str | None = None,
                envelope: bool = True) -> Iterator[Item]:
    """The conversations of one JSON value, each failure as an ``InputError`` in its place."""
    if not isinstance(data, dict):
        yield InputError(f"expected a JSON object for a conversation, found {_kind(data)}.", file=place.file,
                         line=place.line, record=place.record, code=E_SCHEMA)
        return
    try:
        if isinstance(data.get("turns"), list):
            yield record_to_conversation(data, options, file=place.file, line=place.line, record=place.record,
                                         default_id=default_id)
            return
        mapping = options.json_mapping
        if mapping is not None and mapping.matches(data):
            yield from mapping.read(data, place, options)
            return
        if looks_like_whisper(data):
            yield read_whisper(data, place.file, options, default_id or "", record=place.record, line=place.line)
            return
        if looks_like_transcribe(data):
            yield read_transcribe(data, place.file, options, default_id or "", record=place.record, line=place.line)
            return
        platform = match_platform(data)
        if platform is not None:
            yield from platform.read(data, place, options)
            return
    except InputError as err:
        yield err
        return
    key = _envelope_key(data) if envelope else None
    if key is not None:
        # A Zendesk export keeps the users (who is an agent) beside the tickets, not inside them.
        sideloads = {k: data[k] for k in SIDELOADS if key == "tickets" and isinstance(data.get(k), list)}
        for pos, item in enumerate(data[key]):
            if sideloads and isinstance(item, dict):
                item = {**sideloads, **item}
            yield from read_record(item, Place(place.file, place.line, pos if place.line is None else None),
                                   options, envelope=False)
        return
    yield InputError(
        "not a conversation in any format this reads (no 'turns' list, and no platform export recognised).",
        file=place.file, line=place.line, record=place.record, code=E_SCHEMA,
        hint='write {"id": ..., "turns": [{"speaker": "kunde", "text": "..."}]}, or describe the export\'s fields '
             "in a mapping file and pass --json-map (see the README).")


def _envelope_key(data: Mapping[str, Any]) -> str | None:
    for key in (*ENVELOPE_KEYS, *(k for p in PLATFORMS for k in p.list_keys)):
        if isinstance(data.get(key), list):
            return key
    return None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(type(value), "a number")


def read_jsonl(lines: Iterable[Line], file: str, options: ReadOptions) -> Iterator[Item]:
    """One record per line; a broken or over-long line costs only that line."""
    max_line = options.limits.max_line_bytes
    for line in lines:
        if line.text is None:
            yield InputError(f"the line is {line.size:,} bytes, over the limit of {max_line:,}; not read.",
                             file=file, line=line.number, code=E_TOO_LARGE,
                             hint="one line must hold one conversation; raise --max-line-mb if this one is real.")
            continue
        if not line.text.strip():
            continue
        place = Place(file, line.number)
        try:
            data = loads(line.text, place, options.limits.max_json_depth)
        except InputError as err:
            if err.code == E_BAD_JSON:
                err.hint = "each line must be one complete JSON object."
            yield err
            continue
        for item in read_record(data, place, options):
            yield _noted(item, line.note)


def read_json_text(text: str, file: str, options: ReadOptions, stem: str,
                   notes: Mapping[int, str] | None = None) -> Iterator[Item]:
    """A JSON file read whole: one conversation, a list of them, a wrapping object, or platform output."""
    place = Place(file)
    try:
        data = loads(text, place, options.limits.max_json_depth)
    except InputError as err:
        stripped = text.lstrip()
        if err.code == E_BAD_JSON and stripped.startswith("{") and "\n{" in stripped:
            # Several objects, one per line, in a .json file: read it as JSONL.
            lines = (Line(n, t, len(t), (notes or {}).get(n)) for n, t in enumerate(text.split("\n"), 1))
            yield from read_jsonl(lines, file, options)
            return
        yield err
        return
    extra = tuple(dict.fromkeys((notes or {}).values()))
    mapping = options.json_mapping
    if isinstance(data, list) and mapping is not None and mapping.matches(data):
        for out in mapping.read(data, place, options):
            yield _noted(out, *extra)
        return
    if isinstance(data, list):
        for pos, item in enumerate(data):
            for out in read_record(item, Place(file, record=pos), options):
                yield _noted(out, *extra)
        return
    for out in read_record(data, place, options, default_id=stem):
        yield _noted(out, *extra)


def read_json_stream(fh: BinaryIO, file: str, options: ReadOptions, stem: str) -> Iterator[Item]:
    """A JSON file too large to parse whole: its top-level list (or a wrapping object's list) is streamed."""
    import ijson

    head = fh.peek(1 << 16)[:1 << 16] if hasattr(fh, "peek") else b""  # type: ignore[attr-defined]
    if head.startswith(b"\xef\xbb\xbf"):
        fh.read(3)
    try:
        prefix = _stream_prefix(fh)
    except ijson.JSONError as exc:
        yield InputError(f"broken JSON: {exc}.", file=file, code=E_BAD_JSON)
        return
    if prefix is None:
        yield InputError(f"a JSON file over {options.limits.max_document_bytes:,} bytes must hold a list of "
                         "conversations (or an object with one such list); this one does not.", file=file,
                         code=E_TOO_LARGE, hint="write large exports as JSONL, one conversation per line.")
        return
    fh.seek(0)
    if head.startswith(b"\xef\xbb\xbf"):
        fh.read(3)
    pos = -1
    try:
        for pos, item in enumerate(ijson.items(fh, prefix, use_float=True)):
            if isinstance(item, (dict, list)) and json_depth_exceeds(item, options.limits.max_json_depth):
                yield _too_deep(Place(file, record=pos), options.limits.max_json_depth)
                continue
            yield from read_record(item, Place(file, record=pos), options, envelope=False)
    except ijson.JSONError as exc:
        yield InputError(f"broken JSON after record {pos}: {exc}; the rest of the file is not read.", file=file,
                         record=pos + 1, code=E_BAD_JSON)
    except UnicodeDecodeError:
        yield InputError(f"the file is not UTF-8 after record {pos}; the rest of the file is not read.", file=file,
                         record=pos + 1, code=E_BAD_JSON, hint="large JSON files must be UTF-8.")


def _stream_prefix(fh: BinaryIO) -> str | None:
    import ijson

    keys = (*ENVELOPE_KEYS, *(k for p in PLATFORMS for k in p.list_keys))
    events = ijson.parse(fh)
    for prefix, event, value in events:
        if prefix == "" and event == "start_array":
            return "item"
        if prefix == "" and event == "map_key" and value in keys:
            _, nxt, _ = next(events)
            if nxt == "start_array":
                return f"{value}.item"
        if prefix == "" and event in ("end_map", "end_array"):
            return None
    return None


def _noted(item: Item, *notes: str | None) -> Item:
    real = tuple(n for n in notes if n)
    if not real or isinstance(item, InputError):
        return item
    return item.with_updates(warnings=tuple(dict.fromkeys((*item.warnings, *real))))
