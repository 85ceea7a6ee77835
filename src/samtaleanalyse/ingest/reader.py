"""Reading files, folders and standard input into conversations, one stream for all formats.

A failure is yielded as an ``InputError`` in the stream, in place of what it cost, so a batch
always goes on and the caller decides where errors are written.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from ..conversation import Conversation
from ..errors import E_NOT_FOUND, E_UNKNOWN_FORMAT, ConfigError, ErrorRecord, InputError
from .speakers import SpeakerMap
from .build import ReadOptions
from .canonical import read_json, read_jsonl
from .encoding import decode_bytes
from .plaintext import read_text
from .subtitles import read_subtitles
from .tabular import read_csv

FORMATS: dict[str, str] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv",
    ".txt": "text", ".log": "text", ".vtt": "subtitles", ".srt": "subtitles",
}
STDIN = "-"
# A speaker map kept beside exports applies to every file in its folder and below.
FOLDER_SPEAKER_MAP = "speakers.toml"


@dataclass(frozen=True)
class ReadResult:
    """Everything read from some inputs: the conversations, and what failed and why."""

    conversations: tuple[Conversation, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    files: tuple[str, ...] = field(default=())


def expand_paths(paths: Iterable[str | Path]) -> Iterator[str | InputError]:
    """Files in the order given; folders recursively in sorted order, hidden files left out."""
    for p in paths:
        if str(p) == STDIN:
            yield STDIN
            continue
        path = Path(p)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if (child.is_file() and not any(part.startswith(".") for part in rel.parts)
                        and child.name != FOLDER_SPEAKER_MAP):
                    yield str(child)
        elif path.is_file():
            yield str(path)
        else:
            yield InputError("no such file or folder.", file=str(path), code=E_NOT_FOUND)


def detect_format(path: str, text: str) -> str | None:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt:
        return fmt
    head = text.lstrip()[:200]
    if head.startswith("WEBVTT"):
        return "subtitles"
    if head.startswith("{") or head.startswith("["):
        return "json"
    return None


def read_file(path: str, options: ReadOptions, *, stdin: BinaryIO | None = None) -> Iterator[Conversation | InputError]:
    """All conversations of one input, with its failures in their place."""
    try:
        if path == STDIN:
            data = (stdin or sys.stdin.buffer).read()
            name = "<stdin>"
        else:
            data = Path(path).read_bytes()
            name = path
        text, _ = decode_bytes(data, name)
    except InputError as err:
        yield err
        return
    except OSError as exc:
        yield InputError(f"cannot read the file: {exc.strerror}.", file=path, code=E_NOT_FOUND)
        return
    if path == STDIN:
        yield from read_jsonl(text, name, options)
        return
    fmt = detect_format(path, text)
    stem = Path(path).stem
    if fmt == "jsonl":
        yield from read_jsonl(text, name, options)
    elif fmt == "json":
        yield from read_json(text, name, options, stem)
    elif fmt == "csv":
        yield from read_csv(text, name, options, Path(path).suffix.lower())
    elif fmt == "text":
        yield from read_text(text, name, options, stem)
    elif fmt == "subtitles":
        yield from read_subtitles(text, name, options, stem)
    else:
        yield InputError(
            f"unknown file type {Path(path).suffix or '(no extension)'!r}.", file=name, code=E_UNKNOWN_FORMAT,
            hint=f"supported: {', '.join(sorted(FORMATS))}; rename the file if it is one of these.")


def iter_conversations(paths: Iterable[str | Path], options: ReadOptions | None = None,
                       *, stdin: BinaryIO | None = None) -> Iterator[Conversation | InputError]:
    """Stream conversations (and ``InputError``s in place of what failed) from files and folders."""
    options = options or ReadOptions()
    folder_maps: dict[Path, ReadOptions | InputError] = {}
    for item in expand_paths(paths):
        if isinstance(item, InputError):
            yield item
            continue
        file_options = options if item == STDIN else _folder_options(Path(item).parent, options, folder_maps)
        if isinstance(file_options, InputError):
            yield InputError(f"not read: {file_options.message}", file=item, code=file_options.code)
            continue
        yield from read_file(item, file_options, stdin=stdin)


def _folder_options(folder: Path, options: ReadOptions,
                    cache: dict[Path, ReadOptions | InputError]) -> ReadOptions | InputError:
    """``options`` with the nearest folder's ``speakers.toml`` applied (explicit options win)."""
    if folder not in cache:
        found = next((d / FOLDER_SPEAKER_MAP for d in (folder, *folder.parents) if (d / FOLDER_SPEAKER_MAP).is_file()),
                     None)
        if found is None:
            cache[folder] = options
        else:
            try:
                local = SpeakerMap.from_file(found)
            except ConfigError as exc:
                cache[folder] = InputError(f"{exc.message}", file=str(found), code=E_UNKNOWN_FORMAT)
            else:
                merged = SpeakerMap({**local.labels, **options.speakers.labels},
                                    options.speakers.first_diarised_speaker or local.first_diarised_speaker)
                cache[folder] = replace(options, speakers=merged)
    return cache[folder]


def read_conversations(paths: Iterable[str | Path] | str | Path, options: ReadOptions | None = None) -> ReadResult:
    """Read everything at once; for a month of data use ``iter_conversations``."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    convs: list[Conversation] = []
    errors: list[ErrorRecord] = []
    for item in iter_conversations(paths, options):
        if isinstance(item, InputError):
            errors.append(item.to_record())
        else:
            convs.append(item)
    return ReadResult(tuple(convs), tuple(errors))
