"""The output folder of a batch: written so that a run killed at any moment leaves nothing half-done.

- ``conversations.jsonl`` is the ledger: one complete line per scored conversation, appended with one
  ``write`` per chunk and flushed to disk; a rerun first cuts a torn last line (a kill inside a write) and
  then skips what the ledger holds.
- Every other file (feedback reports, tables, summary, errors) is written beside its final name and moved
  into place, so it is either the old file or the new one, never a part.
- A lock (flock on a hidden file) keeps a second run off the same folder; the kernel frees it when a run dies.
- A conversation id never becomes a path as it is: each report gets a safe, unique file name derived from
  the id, and the ledger line says which.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any, Iterator

from ..errors import ConfigError

CONVERSATIONS_FILE = "conversations.jsonl"
ERRORS_FILE = "errors.jsonl"
SUMMARY_FILE = "summary.json"
MANIFEST_FILE = "manifest.json"
DASHBOARD_FILE = "report.html"
FEEDBACK_DIR = "feedback"
LOCK_FILE = ".samtaleanalyse.lock"

_SAFE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Names Windows refuses whatever the extension; an output folder may be copied to a share.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def report_stem(conversation_id: str) -> str:
    """A file-name stem for a conversation's reports, safe on every file system and unique per id.

    A short, lower-case, plain id is used as it is; any other id becomes a readable slug plus ``~`` and a
    hash of the whole id, so ``../../x``, ``CON``, ``a/b``, ids that differ only in case or in unsafe
    characters, and 300-character ids all get names of their own inside the folder.
    """
    if _SAFE_ID.fullmatch(conversation_id) and conversation_id.split(".")[0] not in _RESERVED \
            and not conversation_id.endswith("."):
        return conversation_id
    ascii_id = unicodedata.normalize("NFKD", conversation_id).encode("ascii", "ignore").decode("ascii")
    # No dots in a slug: Windows reserves "CON.anything" as it reserves "CON".
    slug = _UNSAFE.sub("_", ascii_id.replace(".", "_")).strip("._-")[:60] or "conversation"
    digest = hashlib.sha256(conversation_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug}~{digest}"


class OutputFolder:
    """One batch's output folder, locked for the run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None
        self._ledger_fd: int | None = None

    # -- locking ---------------------------------------------------------------------------------------
    def __enter__(self) -> "OutputFolder":
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                holder = _read_small(self.path / LOCK_FILE)
                raise ConfigError(f"another samtaleanalyse run is writing to {self.path} ({holder or 'pid unknown'}).",
                                  hint="wait for it to finish, or score into another --out.") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        self._lock_fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ledger_fd is not None:
            os.fsync(self._ledger_fd)
            os.close(self._ledger_fd)
            self._ledger_fd = None
        if self._lock_fd is not None:
            # The lock file stays: unlinking it would let a waiting run and a new one lock different files.
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- the ledger ------------------------------------------------------------------------------------
    @property
    def ledger_path(self) -> Path:
        return self.path / CONVERSATIONS_FILE

    def reset(self) -> None:
        """Start the folder afresh (``--force``): the ledger, manifest and generated files go."""
        shutil.rmtree(self.path / FEEDBACK_DIR, ignore_errors=True)
        for name in (CONVERSATIONS_FILE, MANIFEST_FILE, SUMMARY_FILE, ERRORS_FILE, DASHBOARD_FILE,
                     "conversations.parquet", "turns.parquet", "findings.parquet"):
            try:
                (self.path / name).unlink()
            except FileNotFoundError:
                pass

    def repair_ledger(self) -> int:
        """Cut a torn last line (a run killed inside a write); returns the bytes cut."""
        path = self.ledger_path
        if not path.exists():
            return 0
        size = path.stat().st_size
        if size == 0:
            return 0
        with open(path, "rb+") as fh:
            fh.seek(max(0, size - 1))
            if fh.read(1) == b"\n":
                return 0
            # Walk back to the last newline; lines are small, so this reads little.
            pos = size
            while pos > 0:
                step = min(1 << 16, pos)
                fh.seek(pos - step)
                chunk = fh.read(step)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    keep = pos - step + cut + 1
                    fh.truncate(keep)
                    return size - keep
                pos -= step
            fh.truncate(0)
            return size

    def ledger_lines(self) -> Iterator[dict[str, Any]]:
        """The ledger's records, streamed (each line is whole after ``repair_ledger``)."""
        if not self.ledger_path.exists():
            return
        with open(self.ledger_path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def append_lines(self, lines: list[str]) -> None:
        """Append whole JSON lines with one write, flushed: a kill leaves at most a torn last line, never a mix."""
        if not lines:
            return
        if self._ledger_fd is None:
            self._ledger_fd = os.open(self.ledger_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND
                                      | getattr(os, "O_CLOEXEC", 0), 0o644)
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._ledger_fd, view)
            view = view[written:]
        os.fdatasync(self._ledger_fd) if hasattr(os, "fdatasync") else os.fsync(self._ledger_fd)

    # -- whole files -----------------------------------------------------------------------------------
    def write_file(self, relative: str, data: str | bytes) -> Path:
        """Write ``relative`` under the folder atomically (a temporary file beside it, then a rename)."""
        target = self.path / relative
        if self.path.resolve() not in target.resolve().parents:
            raise ValueError(f"{relative!r} is outside the output folder")  # names come from report_stem
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, target)
        return target

    def temp_path(self, relative: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{target.name}.{os.getpid()}.tmp")

    def commit(self, temp: Path, relative: str) -> Path:
        target = self.path / relative
        os.replace(temp, target)
        return target

    def read_manifest(self) -> dict[str, Any] | None:
        text = _read_small(self.path / MANIFEST_FILE, 1 << 20)
        if not text:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None


def _read_small(path: Path, limit: int = 200) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit).strip()
    except OSError:
        return ""
