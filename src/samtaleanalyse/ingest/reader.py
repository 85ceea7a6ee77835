"""Reading files, folders and standard input into conversations, one stream for all formats.

A failure is yielded as an ``InputError`` in the stream, in place of what it cost, so a batch always goes
on and the caller decides where errors are written. This is the one place where a per-file failure becomes
an error record: even a bug met while reading one file (a reader raising something unexpected) costs only
the rest of that file, and is reported as an internal error (E900) naming it.
"""
from __future__ import annotations

import io
import os
import sys
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from ..conversation import Conversation
from ..errors import E_INTERNAL, E_TOO_LARGE, E_UNKNOWN_FORMAT, ConfigError, ErrorRecord, InputError
from .build import ReadOptions
from .files import FOLDER_SPEAKER_MAP, STDIN, expand_paths, open_input
from .jsonstream import read_json_stream, read_json_text, read_jsonl
from .plaintext import read_text
from .speakers import SpeakerMap
from .subtitles import read_subtitles
from .tabular import read_csv
from .textio import TextSource

FORMATS: dict[str, str] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv",
    ".txt": "text", ".log": "text", ".vtt": "subtitles", ".srt": "subtitles",
}
# Formats whose whole text is held at once (bounded by Limits.max_document_bytes).
_WHOLE = {"text", "subtitles"}

__all__ = ["FORMATS", "STDIN", "FOLDER_SPEAKER_MAP", "ReadProgress", "ReadResult", "expand_paths", "detect_format",
           "input_size", "read_file", "read_stream", "iter_conversations", "read_conversations"]


@dataclass(frozen=True)
class ReadResult:
    """Everything read from some inputs: the conversations, and what failed and why."""

    conversations: tuple[Conversation, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    files: tuple[str, ...] = field(default=())


@dataclass
class ReadProgress:
    """How far reading has come, in bytes, for a progress bar's time left (totals known only for files)."""

    total_bytes: int = 0
    done_bytes: int = 0
    current: BinaryIO | None = None

    @property
    def position(self) -> int:
        try:
            here = self.current.tell() if self.current is not None else 0
        except (OSError, ValueError):
            here = 0
        return self.done_bytes + here


def input_size(paths: Iterable[str | Path], options: ReadOptions | None = None) -> int:
    """Bytes of every file the paths name (folders walked as ``iter_conversations`` walks them)."""
    total = 0
    for item in expand_paths([str(p) for p in paths], follow_symlinks=(options or ReadOptions()).follow_symlinks):
        if isinstance(item, str) and item != STDIN:
            try:
                total += os.stat(item).st_size
            except OSError:
                pass
    return total


def detect_format(path: str, head: bytes) -> str | None:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt:
        return fmt
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if start.startswith(b"WEBVTT"):
        return "subtitles"
    if start.startswith(b"{") or start.startswith(b"["):
        return "json"
    return None


class _CappedStdin(io.RawIOBase):
    """Standard input with the file-size limit applied as it is read (it has no size to check first)."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        super().__init__()
        self._raw, self._limit, self._read = raw, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def,override]
        allowed = self._limit - self._read
        data = self._raw.read(min(len(buf), allowed) if allowed > 0 else 1)
        if allowed <= 0 and data:
            # What came before the limit has been read; the rest is refused, not silently dropped.
            raise InputError(f"standard input is over the limit of {self._limit:,} bytes; the rest is not read.",
                             file="<stdin>", code=E_TOO_LARGE, hint="split the input, or raise --max-file-mb.")
        n = len(data)
        buf[:n] = data
        self._read += n
        return n


def read_file(path: str, options: ReadOptions, *, stdin: BinaryIO | None = None,
              follow_symlinks: bool | None = None, progress: ReadProgress | None = None) -> Iterator[Conversation | InputError]:
    """All conversations of one input, with its failures in their place."""
    limits = options.limits
    follow = options.follow_symlinks if follow_symlinks is None else follow_symlinks
    try:
        if path == STDIN:
            raw = stdin or sys.stdin.buffer
            fh: BinaryIO = io.BufferedReader(_CappedStdin(raw, limits.max_file_bytes))  # type: ignore[arg-type]
            name, size = "<stdin>", None
        else:
            fh, size = open_input(path, limits.max_file_bytes, follow_symlinks=follow)
            name = path
    except InputError as err:
        yield err
        return
    if progress is not None and size is not None:
        progress.current = fh
    with fh:
        try:
            yield from read_stream(fh, name, options, size=size, jsonl=path == STDIN)
        finally:
            if progress is not None and size is not None:
                progress.current = None
                progress.done_bytes += size


def read_stream(fh: BinaryIO, name: str, options: ReadOptions, *, size: int | None = None,
                jsonl: bool = False) -> Iterator[Conversation | InputError]:
    """The conversations of one open binary input named ``name`` (its extension picks the format, else its
    first bytes do); ``jsonl`` reads it as JSONL whatever its name. An upload to the service is read here too."""
    limits = options.limits
    try:
        source = TextSource(fh, name, limits.max_line_bytes)
        if jsonl:
            yield from read_jsonl(source.lines(), name, options)
            return
        fmt = detect_format(name, source.sample)
        if fmt is None:
            yield InputError(
                f"unknown file type {Path(name).suffix or '(no extension)'!r}.", file=name, code=E_UNKNOWN_FORMAT,
                hint=f"supported: {', '.join(sorted(FORMATS))}; rename the file if it is one of these.")
            return
        stem = Path(name).stem
        if (fmt in _WHOLE or fmt == "json") and size is not None and size > limits.max_document_bytes:
            if fmt == "json":
                yield from read_json_stream(fh, name, options, stem)
                return
            yield InputError(f"the file is {size:,} bytes, over the limit of {limits.max_document_bytes:,} for "
                             "a file that holds one conversation.", file=name, code=E_TOO_LARGE,
                             hint="check that it is one transcript, or raise --max-document-mb.")
            return
        if fmt == "jsonl":
            yield from read_jsonl(source.lines(), name, options)
        elif fmt == "csv":
            yield from read_csv(source.lines(), name, options, Path(name).suffix.lower())
        else:
            text = source.read_text()
            notes = dict(source.notes)
            if fmt == "json":
                yield from read_json_text(text, name, options, stem, notes)
            elif fmt == "text":
                yield from read_text(text, name, options, stem, notes)
            else:
                yield from read_subtitles(text, name, options, stem, notes)
    except InputError as err:
        yield err


def iter_conversations(paths: Iterable[str | Path], options: ReadOptions | None = None,
                       *, stdin: BinaryIO | None = None,
                       progress: ReadProgress | None = None) -> Iterator[Conversation | InputError]:
    """Stream conversations (and ``InputError``s in place of what failed) from files and folders."""
    options = options or ReadOptions()
    folder_maps: dict[Path, ReadOptions | InputError] = {}
    paths = [str(p) for p in paths]
    top_level = set(paths)
    for item in expand_paths(paths, follow_symlinks=options.follow_symlinks):
        if isinstance(item, InputError):
            yield item
            continue
        file_options = options if item == STDIN else _folder_options(Path(item).parent, options, folder_maps)
        if isinstance(file_options, InputError):
            yield InputError(f"not read: {file_options.message}", file=item, code=file_options.code)
            continue
        # A path the user named on the command line is followed even when it is a link.
        yield from _guarded(item, read_file(item, file_options, stdin=stdin, progress=progress,
                                            follow_symlinks=options.follow_symlinks or item in top_level))


def _guarded(path: str, items: Iterator[Conversation | InputError]) -> Iterator[Conversation | InputError]:
    """A reader's stream with any unexpected exception turned into one internal-error record for the file."""
    read = 0
    try:
        for item in items:
            if isinstance(item, Conversation):
                read += 1
            yield item
    except Exception as exc:  # noqa: BLE001 - the batch must survive a bug met on one file
        where = traceback.extract_tb(exc.__traceback__)[-1]
        yield InputError(
            f"internal error while reading this file: {type(exc).__name__} in {Path(where.filename).name}:"
            f"{where.lineno}; {read} conversation(s) of it were read before, the rest is not.",
            file="<stdin>" if path == STDIN else path, code=E_INTERNAL,
            hint="this is a bug in samtaleanalyse, not in the file: please report it with the file's shape.")


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
                cache[folder] = replace(options, speakers=local.under(options.speakers))
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
