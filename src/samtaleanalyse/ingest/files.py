"""Finding input files and opening them safely.

A nightly export folder can hold anything: symbolic links (dangling, looping, or pointing out of the
folder), FIFOs that would block a reader for ever, files that vanish while the batch runs. Each of these
becomes an error that names the path; none is skipped without a word, and a link is followed only when
the user asks for it.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from ..errors import E_NOT_FOUND, E_NOT_REGULAR, E_SYMLINK, E_TOO_LARGE, InputError

STDIN = "-"
# A speaker map kept beside exports applies to every file in its folder and below; it is not an input.
FOLDER_SPEAKER_MAP = "speakers.toml"


def expand_paths(paths: Iterable[str | Path], *, follow_symlinks: bool = False) -> Iterator[str | InputError]:
    """Files in the order given; folders recursively in sorted order, hidden entries left out.

    A path named here is followed even when it is a symbolic link (the user named it). Inside folders, a
    symbolic link is an error unless ``follow_symlinks``; then a dangling or looping link, or a folder
    reached twice, is an error too.
    """
    for p in paths:
        if str(p) == STDIN:
            yield STDIN
            continue
        path = Path(p)
        try:
            st = path.stat()
        except OSError as exc:
            yield _os_error(str(path), exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, follow_symlinks, {(st.st_dev, st.st_ino)})
        elif stat.S_ISREG(st.st_mode):
            yield str(path)
        else:
            yield _not_regular(str(path), st.st_mode)


def _walk(folder: Path, follow: bool, seen: set[tuple[int, int]]) -> Iterator[str | InputError]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield _os_error(str(folder), exc)
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name == FOLDER_SPEAKER_MAP:
            continue
        path = Path(entry.path)
        try:
            if entry.is_symlink():
                if not follow:
                    yield _link_error(entry.path)
                    continue
                st = path.stat()  # follows the link: dangling or looping links raise here
            else:
                st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield _os_error(entry.path, exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in seen:
                yield InputError("this folder was reached before through a symbolic link (a loop); not read twice.",
                                 file=entry.path, code=E_SYMLINK)
                continue
            yield from _walk(path, follow, seen | {key})
        elif stat.S_ISREG(st.st_mode):
            yield entry.path
        else:
            yield _not_regular(entry.path, st.st_mode)


def open_input(path: str, max_bytes: int, *, follow_symlinks: bool = False) -> tuple[BinaryIO, int]:
    """Open a regular file for reading, checked on the opened descriptor (no race with a swapped path).

    Returns the binary file and its size; raises ``InputError`` for anything that is not a readable regular
    file within ``max_bytes``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise _link_error(path) from None
        raise _os_error(path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        if st.st_size > max_bytes:
            raise InputError(f"the file is {st.st_size:,} bytes, over the limit of {max_bytes:,} for this format.",
                             file=path, code=E_TOO_LARGE,
                             hint="split the export into smaller files, or raise the limit (--max-file-mb).")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=1 << 16), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _os_error(path: str, exc: OSError) -> InputError:
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return InputError("the symbolic link points to nothing (dangling link).", file=path, code=E_SYMLINK)
        return InputError("no such file or folder (it may have been removed while the batch ran).",
                          file=path, code=E_NOT_FOUND)
    if exc.errno == errno.ELOOP:
        return InputError("the symbolic link loops back on itself.", file=path, code=E_SYMLINK)
    reason = exc.strerror or type(exc).__name__
    return InputError(f"cannot read it: {reason}.", file=path, code=E_NOT_FOUND)


def _link_error(path: str) -> InputError:
    return InputError("a symbolic link, not followed.", file=path, code=E_SYMLINK,
                      hint="pass --follow-symlinks to read what links point to, or copy the files in.")


def _not_regular(path: str, mode: int) -> InputError:
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return InputError(f"{kind}, not a file; not read.", file=path, code=E_NOT_REGULAR,
                      hint="export the transcripts to regular files.")
