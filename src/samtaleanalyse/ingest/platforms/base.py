"""What every platform reader shares: the contract, safe field access and the one way out.

A reader gets one parsed JSON object and must never raise: a wrong type anywhere in a record
becomes a coded ``InputError`` naming the place, so a batch records it and goes on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from ...conversation import Conversation
from ...errors import E_INTERNAL, E_SCHEMA, E_UNKNOWN_SPEAKER, InputError
from ..build import RawTurn, ReadOptions, build_conversation
from .text import iso_time


@dataclass(frozen=True)
class Place:
    """Where a record came from, for errors and ``Conversation.source``."""

    file: str
    line: int | None = None
    record: str | int | None = None


Reader = Callable[[Mapping[str, Any], Place, ReadOptions], Iterator["Conversation | InputError"]]


@dataclass(frozen=True)
class Platform:
    """One contact-centre export format."""

    name: str
    matches: Callable[[Mapping[str, Any]], bool]
    read: Reader
    list_keys: tuple[str, ...] = ()
    description: str = ""


# Marks errors that only the safety net produces (E900); tests assert that no input reaches it.
INTERNAL_MARK = "(internal:"


def guarded(platform: str, read: Reader, *, lists: bool = False) -> Reader:
    """Wrap ``read`` so that it yields, never raises.

    Readers check types themselves; this net exists because the contract is "never raise"
    and a missed check on some odd export must cost one record, not the batch. ``lists`` lets a
    top-level JSON list through (the field mapping reads those).
    """

    def safe(record: Mapping[str, Any], place: Place, options: ReadOptions) -> Iterator[Conversation | InputError]:
        try:
            if not isinstance(record, Mapping) and not (lists and isinstance(record, list)):
                yield err(place, f"a record for {platform} must be a JSON object, found {kind(record)}.")
                return
            yield from read(record, place, options)
        except InputError as exc:
            yield exc
        except (RecursionError, MemoryError):
            yield err(place, f"the {platform} record is nested too deeply to read.")
        except Exception as exc:  # noqa: BLE001 - the contract: one bad record never stops a batch
            yield err(place, f"unexpected structure in the {platform} record {INTERNAL_MARK} "
                             f"{type(exc).__name__}: {str(exc)[:120]}).", code=E_INTERNAL,
                      hint="this is a bug in samtaleanalyse's reader for this platform: please report it.")

    return safe


def safe_matches(test: Callable[[Mapping[str, Any]], bool], *, lists: bool = False
                 ) -> Callable[[Mapping[str, Any]], bool]:
    def matches(record: Mapping[str, Any]) -> bool:
        try:
            return (isinstance(record, Mapping) or (lists and isinstance(record, list))) and bool(test(record))
        except Exception:  # noqa: BLE001 - a matcher answers yes or no, whatever the input
            return False

    return matches


def err(place: Place, message: str, *, code: str = E_SCHEMA, hint: str | None = None,
        record: str | int | None = None) -> InputError:
    return InputError(message, file=place.file, line=place.line,
                      record=place.record if place.record is not None else record, code=code, hint=hint)


def kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def obj(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (optional sub-objects)."""
    return value if isinstance(value, Mapping) else {}


def objects(value: Any) -> list[Mapping[str, Any]]:
    """The JSON objects in a list; anything else is ignored (optional lists)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def str_in(value: Any, names: frozenset[str]) -> bool:
    """``value in names`` for a value that may be any JSON (a list is not hashable)."""
    return isinstance(value, str) and value in names


def text_of(value: Any) -> str | None:
    """A string, or a number written as one (ids, names); None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and abs(value) < 10**30:
        return str(value)
    if isinstance(value, Decimal):  # what ijson gives for numbers with a fraction
        value = float(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() and abs(value) < 1e30 else str(value)
    return None


def ident(value: Any) -> str | None:
    """An id as a non-empty string (ids come as numbers or strings), else None."""
    s = text_of(value)
    if s is None:
        return None
    s = s.strip()
    return s or None


def first(*values: Any) -> str | None:
    """The first value that is a non-empty string or number, as a string."""
    for v in values:
        s = ident(v)
        if s is not None:
            return s
    return None


def need_list(record: Mapping[str, Any], key: str, place: Place, platform: str, what: str,
              hint: str | None = None) -> list[Any]:
    value = record.get(key)
    if not isinstance(value, list):
        found = "is missing" if key not in record else f"is {kind(value)}"
        raise err(place, f"the {platform} record has no '{key}' list of {what} ('{key}' {found}).", hint=hint)
    return value


def default_id(place: Place) -> str:
    """An id for a conversation whose export gives none: the file name, and the record's place."""
    stem = Path(place.file).stem or "conversation"
    return stem if place.record is None else f"{stem}-{place.record}"


class Clock:
    """Turns an export's times into ISO strings and notes each one that is not a time."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def stamp(self, value: Any, where: str, unit: str = "auto") -> str | None:
        iso = iso_time(value, unit)
        if iso is None and value is not None and value != "":
            shown = repr(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            self.warnings.append(f"the time {shown} of {where} is not a time; left out")
        return iso


def finish(conv_id: str, raw: Sequence[RawTurn], options: ReadOptions, place: Place, *,
           platform: str, meta: Mapping[str, Any], channel: str | None = None, language: str | None = None,
           warnings: Iterable[str] = (), unknown_hint: str | None = None) -> Conversation | InputError:
    """Build through ``build_conversation`` (same limits and checks as every format).

    ``unknown_hint`` replaces the generic hint of an unknown-speaker error with one that says
    how to get the roles from this platform's export.
    """
    clean_meta = {"platform": platform, **{k: v for k, v in meta.items() if v not in (None, "", [], {})}}
    try:
        conv = build_conversation(
            conv_id, raw, options, file=place.file, line=place.line,
            record=place.record if place.record is not None else conv_id,
            language=options.language or language, channel=options.channel or channel, meta=clean_meta)
    except InputError as exc:
        if unknown_hint and exc.code == E_UNKNOWN_SPEAKER:
            return InputError(exc.message, file=exc.file, line=exc.line, record=exc.record, code=exc.code,
                              hint=f"{unknown_hint}; or map the label with --speaker 'LABEL=agent'.")
        return exc
    extra = tuple(warnings)
    return conv.with_updates(warnings=conv.warnings + extra) if extra else conv
