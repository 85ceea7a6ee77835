"""A request's body to conversations, with the batch's reasons and codes for whatever is wrong with it.

The body has been read within the size limit (``middleware.BodyLimit``) before it gets here. JSON bodies
are parsed by the ingest package's own ``loads`` (NaN, Infinity and hostile nesting refused with codes) and
read by ``read_record``, so the service accepts every JSON format the batch does (canonical, platform
exports, speech-to-text output); uploads from the page are read by ``read_stream``, by their file name.
"""
from __future__ import annotations

import io
from typing import Any

from ..conversation import Conversation
from ..errors import E_BAD_JSON, E_INTERNAL, E_SCHEMA, E_TOO_LARGE, E_TOO_MANY_TURNS, E_TURN_TOO_LONG, InputError
from ..ingest import ReadOptions
from ..ingest.jsonstream import loads, read_record
from ..ingest.platforms.base import Place
from ..ingest.reader import read_stream

BODY = "request body"
# Codes that say an input is over a size limit: the service answers them with 413, the others with 422.
TOO_LARGE_CODES = frozenset({E_TOO_LARGE, E_TOO_MANY_TURNS, E_TURN_TOO_LONG})


def http_status(error: InputError) -> int:
    if error.code in TOO_LARGE_CODES:
        return 413
    return 500 if error.code == E_INTERNAL else 422


def parse_json(body: bytes, options: ReadOptions) -> Any:
    """The body as JSON (UTF-8, a byte-order mark allowed); ``InputError`` E303/E318 when it is not."""
    if not body.strip():
        raise InputError("the body is empty; it must be one conversation as JSON.", file=BODY, code=E_BAD_JSON,
                         hint='send {"id": "...", "turns": [{"speaker": "kunde", "text": "..."}]}.')
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the body is not UTF-8 (byte {exc.start:,}).", file=BODY, code=E_BAD_JSON,
                         hint="JSON must be sent as UTF-8.") from None
    return loads(text, Place(BODY), options.limits.max_json_depth)


def _read(data: Any, place: Place, options: ReadOptions, **kwargs: Any) -> list[Conversation | InputError]:
    """``read_record``'s items; a reader's bug becomes one internal error (E900) in their place, as in a batch."""
    try:
        return list(read_record(data, place, options, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the answer must be a coded error, not a crash
        return [InputError(f"internal error while reading: {type(exc).__name__}.", file=place.file,
                           record=place.record, code=E_INTERNAL,
                           hint="this is a bug in samtaleanalyse, not in the request: please report it.")]


def one_conversation(data: Any, options: ReadOptions) -> Conversation:
    """The one conversation of a parsed body (any JSON format the batch reads); the first error otherwise."""
    items = _read(data, Place(BODY), options, default_id="conversation")
    errors = [i for i in items if isinstance(i, InputError)]
    if errors:
        raise errors[0]
    if len(items) != 1:
        raise InputError(f"the body holds {len(items)} conversations; this endpoint scores one.", file=BODY,
                         code=E_SCHEMA, hint="send several to /v1/analyse/batch.")
    return items[0]  # type: ignore[return-value]


def batch_items(data: Any, options: ReadOptions, max_batch: int) -> list[Conversation | InputError]:
    """One entry per item of a batch body (a list, or an object with a ``conversations`` list), in order: the
    item's conversation, or the error that kept it from being one."""
    items = data.get("conversations") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError("a batch must be a JSON list of conversations, or an object with a 'conversations' list.",
                         file=BODY, code=E_SCHEMA, hint='send {"conversations": [{"id": ..., "turns": [...]}, ...]}.')
    if not items:
        raise InputError("the batch holds no conversation.", file=BODY, code=E_SCHEMA)
    if len(items) > max_batch:
        raise InputError(f"the batch holds {len(items):,} conversations, over the limit of {max_batch:,}.", file=BODY,
                         code=E_TOO_LARGE, hint=f"send at most {max_batch:,} in one request.")
    out: list[Conversation | InputError] = []
    for pos, item in enumerate(items):
        read = _read(item, Place(BODY, record=pos), options, default_id=f"conversation-{pos + 1}", envelope=False)
        errors = [r for r in read if isinstance(r, InputError)]
        if errors:
            out.append(errors[0])
        elif len(read) != 1:
            out.append(InputError(f"item {pos} holds {len(read)} conversations; each item must be one.", file=BODY,
                                  record=pos, code=E_SCHEMA))
        else:
            out.append(read[0])
    return out


def read_upload(data: bytes, filename: str, options: ReadOptions) -> list[Conversation | InputError]:
    """Everything in an uploaded or pasted transcript, read as the batch reads a file of that name."""
    return list(read_stream(io.BytesIO(data), filename, options, size=len(data)))
