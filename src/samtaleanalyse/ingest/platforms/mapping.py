"""A field mapping for JSON exports no built-in reader knows (``--json-map map.toml``).

The mapping names, by small paths, where an export keeps its conversations, each one's id and
turns, and each turn's speaker, text and time. Path syntax (no expressions, nothing evaluated):

* ``a.b.c``: the key ``c`` of the object under ``b`` under ``a``;
* ``a[*]``: every item of the list ``a``; ``a[0]``: its first item (``[-1]``: its last);
* ``"odd.key"``: a key with dots, brackets or surrounding spaces, in double quotes;
* a path that ends at a list stands for its items (``data.items`` = ``data.items[*]``);
* ``""`` (conversations only): the document itself is one conversation.

A key is any run of characters other than ``.``, ``[``, ``]`` and ``"``, without leading or
trailing spaces. ``conversations`` is read from the document; ``id``, ``turns`` and the ``meta``
paths from a conversation; ``speaker``, ``text`` and ``time`` from a turn.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

from ...conversation import ROLES, Conversation
from ...errors import ConfigError, InputError
from ..build import RawTurn, ReadOptions
from .base import Clock, Place, Platform, err, finish, guarded, kind, safe_matches, text_of
from .text import html_to_text, iso_time

Step = tuple[str, Any]  # ("key", name) | ("all", None) | ("index", n)

_INDEX = re.compile(r"\[(\*|-?\d{1,9})\]")


@lru_cache(maxsize=256)
def parse_path(path: str) -> tuple[Step, ...]:
    """The steps of ``path``; ``ConfigError`` saying what is wrong and where when it is malformed."""
    steps: list[Step] = []
    pos = 0
    expect_key = True  # at the start or after a dot
    while pos < len(path):
        ch = path[pos]
        if ch == "[":
            m = _INDEX.match(path, pos)
            if m is None:
                raise _bad(path, pos, "'[' must open '[*]' or a whole-number index like '[0]'")
            steps.append(("all", None) if m.group(1) == "*" else ("index", int(m.group(1))))
            pos = m.end()
            expect_key = False
        elif ch == ".":
            if expect_key:
                raise _bad(path, pos, "a key is missing before this '.'")
            pos += 1
            if pos == len(path):
                raise _bad(path, pos, "the path ends with '.'")
            expect_key = True
        elif ch == "]":
            raise _bad(path, pos, "']' without '['")
        elif not expect_key:
            raise _bad(path, pos, "after a key or ']' comes '.', '[' or the end")
        elif ch == '"':
            end = path.find('"', pos + 1)
            if end < 0:
                raise _bad(path, pos, "this quote is never closed")
            if end == pos + 1:
                raise _bad(path, pos, "an empty quoted key")
            steps.append(("key", path[pos + 1:end]))
            pos = end + 1
            expect_key = False
        else:
            m = re.compile(r'[^.\[\]"]+').match(path, pos)
            assert m is not None  # ch is none of . [ ] "
            key = m.group(0)
            if key != key.strip():
                raise _bad(path, pos, f"the key {key!r} starts or ends with a space (quote it if that is meant)")
            steps.append(("key", key))
            pos = m.end()
            expect_key = False
    return tuple(steps)


def _bad(path: str, pos: int, why: str) -> ConfigError:
    return ConfigError(f"the path {path!r} is malformed at character {pos + 1}: {why}.",
                       hint='write dotted keys with [*] for every item of a list, e.g. "data.items[*].messages".')


def resolve(value: Any, steps: tuple[Step, ...]) -> list[Any]:
    """Every value ``steps`` reach from ``value``; a step that does not fit reaches nothing."""
    current = [value]
    for step, arg in steps:
        nxt: list[Any] = []
        for v in current:
            if step == "key":
                if isinstance(v, Mapping) and arg in v:
                    nxt.append(v[arg])
            elif isinstance(v, list):
                if step == "all":
                    nxt.extend(v)
                elif -len(v) <= arg < len(v):
                    nxt.append(v[arg])
        current = nxt
    return current


def _items(value: Any, path: str) -> list[Any]:
    """The items a list-valued path stands for."""
    found = resolve(value, parse_path(path))
    if len(found) == 1 and isinstance(found[0], list):
        return list(found[0])
    return found


def _one(value: Any, path: str) -> Any:
    found = resolve(value, parse_path(path))
    return found[0] if found else None


_FIELDS = ("conversations", "id", "turns", "speaker", "text", "time", "html", "roles", "meta")
_PATH_FIELDS = ("conversations", "id", "turns", "speaker", "text", "time")
_REQUIRED = ("id", "turns", "speaker", "text")


@dataclass(frozen=True, kw_only=True)
class JsonMapping:
    """Where a JSON export keeps its conversations; read from TOML with ``--json-map map.toml``.

    ``roles`` maps speaker values to customer, agent or system (values it does not name go through
    the speaker map as any label does); ``meta`` maps output fields to paths in a conversation
    (``agent_id = "assignee.name"``); the fields ``language`` and ``channel`` there set the
    conversation's language and channel. ``html = true`` strips HTML from the texts.
    """

    conversations: str = ""
    id: str
    turns: str
    speaker: str
    text: str
    time: str | None = None
    html: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _PATH_FIELDS:
            value = getattr(self, name)
            if value is None and name == "time":
                continue
            if not isinstance(value, str):
                raise ConfigError(f"json map: '{name}' must be a path string, not {kind(value)}.")
            if name in _REQUIRED and not value.strip():
                raise ConfigError(f"json map: '{name}' must name a path; it is empty.",
                                  hint=f'e.g. {name} = "{_EXAMPLE[name]}".')
            _checked(value, name)
        if not isinstance(self.html, bool):
            raise ConfigError(f"json map: 'html' must be true or false, not {kind(self.html)}.")
        if not isinstance(self.roles, Mapping):
            raise ConfigError("json map: [roles] must be a table of speaker value = role.")
        for value, role in self.roles.items():
            if role not in ROLES:
                raise ConfigError(f"json map: the speaker value {value!r} is mapped to {role!r}, which is not a role.",
                                  hint=f"use one of {', '.join(ROLES)}.")
        if not isinstance(self.meta, Mapping):
            raise ConfigError("json map: [meta] must be a table of output field = path.")
        for out, path in self.meta.items():
            if not isinstance(path, str) or not path.strip():
                raise ConfigError(f"json map: meta field {out!r} must be a non-empty path string.")
            _checked(path, f"meta.{out}")

    @classmethod
    def from_file(cls, path: str | Path) -> "JsonMapping":
        """Read a mapping from TOML; ``ConfigError`` (E100) naming the file and the problem."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"json map {p} does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"json map {p} cannot be read: {exc}.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"json map {p} is not valid TOML: {exc}.",
                              hint='write key = "path" lines, e.g. turns = "messages".') from None
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ConfigError(f"json map {p}: unknown setting(s) {', '.join(unknown)}.",
                              hint=f"the settings are {', '.join(_FIELDS)}.")
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise ConfigError(f"json map {p}: {', '.join(missing)} missing.",
                              hint="; ".join(f'{name} = "{_EXAMPLE[name]}"' for name in missing) + ".")
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"json map {p}: {exc.message}", hint=exc.hint) from None


_EXAMPLE = {"conversations": "data.items", "id": "ticketId", "turns": "messages", "speaker": "from.role",
            "text": "body", "time": "sentAt"}


def _checked(path: str, name: str) -> None:
    try:
        parse_path(path)
    except ConfigError as exc:
        raise ConfigError(f"json map: '{name}': {exc.message}", hint=exc.hint) from None


def mapping_platform(mapping: JsonMapping) -> Platform:
    """A ``Platform`` that reads documents with ``mapping``.

    ``read`` also takes a top-level JSON list when ``conversations`` starts with ``[*]``.
    """
    roles = {**{k.strip().casefold(): v for k, v in mapping.roles.items()}, **mapping.roles}

    def matches(document: Mapping[str, Any]) -> bool:
        if mapping.conversations:
            return bool(_items(document, mapping.conversations))
        return isinstance(_one(document, mapping.turns), list)

    def read(document: Mapping[str, Any], place: Place, options: ReadOptions) -> Iterator[Conversation | InputError]:
        if not mapping.conversations:
            yield _conversation(document, place, options)
            return
        items = _items(document, mapping.conversations)
        if not items:
            yield err(place, f"no conversations at the path {mapping.conversations!r}.",
                      hint="check 'conversations' in the json map against the export.")
        for pos, item in enumerate(items):
            where = Place(place.file, place.line, pos if place.record is None else f"{place.record}.{pos}")
            try:
                yield _conversation(item, where, options)
            except InputError as exc:
                yield exc

    def _conversation(conv: Any, place: Place, options: ReadOptions) -> Conversation | InputError:
        if not isinstance(conv, Mapping):
            return err(place, f"a conversation must be a JSON object, found {kind(conv)}.")
        conv_id = text_of(_one(conv, mapping.id))
        if conv_id is None or not conv_id.strip():
            return err(place, f"the conversation has no id at the path {mapping.id!r}.")
        turns = _one(conv, mapping.turns)
        if not isinstance(turns, list):
            return err(place, f"the conversation has no list of turns at the path {mapping.turns!r} "
                              f"(found {kind(turns)}).", record=conv_id)
        clock = Clock()
        raw: list[RawTurn] = []
        for pos, turn in enumerate(turns):
            speaker = text_of(_one(turn, mapping.speaker))
            if speaker is None or not speaker.strip():
                return err(place, f"turn {pos} has no speaker at the path {mapping.speaker!r}.", record=conv_id)
            value = _one(turn, mapping.text)
            text = "" if value is None else text_of(value)
            if text is None:
                return err(place, f"turn {pos}: the text at {mapping.text!r} is {kind(value)}, not a string.",
                           record=conv_id)
            raw.append(RawTurn(
                speaker=speaker, text=html_to_text(text) if mapping.html else text,
                role=roles.get(speaker, roles.get(speaker.strip().casefold())),
                timestamp=clock.stamp(_one(turn, mapping.time), f"turn {pos}") if mapping.time else None))
        meta: dict[str, Any] = {}
        language = channel = None
        for out, path in mapping.meta.items():
            value = _one(conv, path)
            if out == "language":
                language = text_of(value)
            elif out == "channel":
                channel = text_of(value)
            elif out == "started_at":
                meta[out] = iso_time(value) or text_of(value)
            elif value is not None:
                meta[out] = text_of(value) if text_of(value) is not None else value
        return finish(conv_id.strip(), raw, options, place, platform="json-map", meta=meta, channel=channel,
                      language=language, warnings=clock.warnings)

    return Platform(name="json-map", matches=safe_matches(matches, lists=True),
                    read=guarded("mapped JSON", read, lists=True),
                    description="any JSON export, read by the field mapping given with --json-map")

