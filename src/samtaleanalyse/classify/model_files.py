"""Reading a model folder's files as untrusted data: inside the folder, bounded in size, strict in format.

A model folder may come from anywhere (a colleague, a download, a shared drive). Nothing in it
runs (JSON and plain numpy arrays only), and nothing in it is read before its size is known to be
sane: a JSON file is refused above its size limit, and each array of a ``.npz`` archive is checked
from its ``.npy`` header (shape, dtype) and its declared size before a byte of it is decompressed.
Every failure is a :class:`ModelError` naming the file and the field, with a code and a hint.
"""
from __future__ import annotations

import json
import math
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Mapping, Sequence

import numpy as np

from ..errors import (E_MODEL_FIELD, E_MODEL_MISSING, E_MODEL_PATH, E_MODEL_TOO_LARGE, E_MODEL_UNREADABLE,
                      ModelError)

MiB = 1 << 20
# Far above what a real model holds (turns-e5-qat: metadata 60 kB, vocabulary 350 kB, arrays 4 MB),
# far below what would hurt a laptop.
MAX_JSON_BYTES = 16 * MiB         # metadata.json, an encoder's config.json
MAX_VOCABULARY_BYTES = 64 * MiB   # vocabulary.json
MAX_NPZ_BYTES = 512 * MiB         # weights.npz, encoder_patch.npz, as stored
MAX_ARRAY_BYTES = 256 * MiB       # one array, decompressed
MAX_NPZ_MEMBERS = 4096
MAX_HEADER_BYTES = 10_000         # an .npy header (numpy's own default limit)

HINT_COPY = ("copy the whole model folder again from where it was made, or retrain the model "
             "(`samtaleanalyse train --config training/configs/default.toml`).")


@dataclass(frozen=True)
class Where:
    """A place in a model folder: a file, and a field in it (a JSON pointer, or an array's name)."""

    file: Path
    field: str = ""
    noun: str = "field"

    def at(self, *keys: str | int) -> "Where":
        """A field below this one (JSON pointer syntax: ``/tasks/attitude/labels``)."""
        escaped = (str(k).replace("~", "~0").replace("/", "~1") for k in keys)
        return Where(self.file, self.field + "".join("/" + k for k in escaped), self.noun)

    def array(self, name: str) -> "Where":
        return Where(self.file, name, "array")

    def fail(self, problem: str, *, code: str, hint: str | None = HINT_COPY) -> ModelError:
        place = f"{self.file}, {self.noun} {self.field}" if self.field else str(self.file)
        return ModelError(f"{place}: {problem}", code=code, hint=hint, file=str(self.file), field=self.field or None)


def shown(value: Any, limit: int = 80) -> str:
    """A value for a message: a short repr (``None``: a missing field, or JSON null)."""
    if value is None:
        return "missing (or null)"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def plain(value: Any, limit: int = 200) -> str:
    """A string from a model file, for a message: as it is when it is short and printable (a version, a
    name), else quoted, so that no file can put control characters or false lines on a terminal."""
    if isinstance(value, str) and value.isprintable() and 0 < len(value) <= limit:
        return value
    return shown(value, limit)


VERSION = re.compile(r"\d+(\.\d+){0,3}")  # a plain version number: "0.3.0"


def pip_pin(package: str, version: Any) -> str:
    """``pip install package==version`` for a hint, only where ``version`` is a plain version number: a hint
    must never carry a command a tampered file wrote."""
    if isinstance(version, str) and VERSION.fullmatch(version):
        return f"pip install {package}=={version}"
    return f"install the {package} version the model was made with"


def json_type(value: Any) -> str:
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
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --------------------------------------------------------------------------------------------- paths

def inside(root: Path, rel: Any, where: Where, *, folder: bool = False, missing_hint: str | None = HINT_COPY,
           missing: str | None = None) -> Path:
    """``root / rel`` resolved (symlinks followed), which must stay inside ``root`` (itself resolved) and be
    a plain file (or, with ``folder``, a folder). ``rel`` comes from metadata: a relative path string."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise where.fail(f"is {shown(rel)}; expected a relative path inside the model folder.", code=E_MODEL_FIELD)
    if Path(rel).is_absolute():
        raise where.fail(f"is the absolute path {rel!r}; a model folder may only name files inside itself.",
                         code=E_MODEL_PATH, hint="give the path relative to the model folder, and keep the file there.")
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise where.fail(f"{rel!r} leads to {plain(str(path), 1000)}, outside the model folder {root}.", code=E_MODEL_PATH,
                         hint="keep every file of a model inside its folder (no '..', no symlinks that leave it).")
    try:
        mode = path.stat().st_mode
    except OSError:
        raise where.fail(missing or f"names {rel!r}, which is missing.", code=E_MODEL_MISSING, hint=missing_hint) from None
    if folder and not stat.S_ISDIR(mode) or not folder and not stat.S_ISREG(mode):
        raise where.fail(f"names {rel!r}, which is not a {'folder' if folder else 'plain file'}.", code=E_MODEL_PATH)
    return path


def model_file(root: Path, name: str, shown_as: Path, *, missing_hint: str | None = HINT_COPY) -> Path:
    """One of a model folder's own files (metadata.json, weights.npz, ...), checked like a path from metadata."""
    return inside(root, name, Where(shown_as), missing_hint=missing_hint, missing="is missing.")


def check_tree(root: Path, folder: Path, where: Where, *, max_entries: int = 10_000) -> None:
    """Everything under ``folder`` (an encoder directory) resolves inside ``root``, and is a file or folder."""
    for n, entry in enumerate(folder.rglob("*")):
        if n >= max_entries:
            raise where.fail(f"holds more than {max_entries} files.", code=E_MODEL_TOO_LARGE)
        real = entry.resolve()
        if not real.is_relative_to(root):
            raise where.fail(f"{plain(str(entry.relative_to(folder)))} leads to {plain(str(real), 1000)}, outside "
                             f"the model folder {root}.",
                             code=E_MODEL_PATH,
                             hint="keep every file of a model inside its folder (no symlinks that leave it).")
        mode = real.stat().st_mode if real.exists() else 0
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise where.fail(f"{plain(str(entry.relative_to(folder)))} is not a plain file.", code=E_MODEL_PATH)


def check_size(path: Path, limit: int, where: Where) -> int:
    size = path.stat().st_size
    if size > limit:
        raise where.fail(f"is {size / MiB:.1f} MiB; this package reads at most {limit / MiB:.0f} MiB of it.",
                         code=E_MODEL_TOO_LARGE, hint="this is not a model file this package made: " + HINT_COPY)
    return size


# --------------------------------------------------------------------------------------------- JSON

def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def parse_json(data: bytes, where: Where) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity, no key twice in an object."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        problem = f"is not valid JSON ({exc.msg}, line {exc.lineno})."
    except UnicodeDecodeError as exc:
        problem = f"is not UTF-8 text ({exc.reason} at byte {exc.start})."
    except RecursionError:
        problem = "is nested too deeply to be model data."
    except ValueError as exc:
        problem = f"is not valid JSON ({exc})."
    raise where.fail(problem, code=E_MODEL_UNREADABLE)


def read_json(path: Path, where: Where, limit: int = MAX_JSON_BYTES) -> Any:
    check_size(path, limit, where)
    return parse_json(path.read_bytes(), where)


# --------------------------------------------------------------------------------------------- checked values

def need_object(value: Any, where: Where) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise where.fail(f"is {'missing (or null)' if value is None else json_type(value)}; expected an object.",
                         code=E_MODEL_FIELD)
    return value


def need_str(value: Any, where: Where, *, max_len: int = 10_000) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise where.fail(f"is {shown(value)}; expected a non-empty string.", code=E_MODEL_FIELD)
    return value


def need_int(value: Any, where: Where, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise where.fail(f"is {shown(value)}; expected a whole number from {lo} to {hi}.", code=E_MODEL_FIELD)
    return value


def need_number(value: Any, where: Where, lo: float, hi: float, *, above: bool = False) -> float:
    """A finite number in [lo, hi] (or (lo, hi] with ``above``); booleans are not numbers here."""
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (value > lo if above else value >= lo) and value <= hi)
    if not ok:
        span = f"({lo:g}, {hi:g}]" if above else f"[{lo:g}, {hi:g}]"
        raise where.fail(f"is {shown(value)}; expected a finite number in {span}.", code=E_MODEL_FIELD)
    return float(value)


def need_strings(value: Any, where: Where) -> list[str]:
    if not isinstance(value, list):
        raise where.fail(f"is {'missing (or null)' if value is None else json_type(value)}; expected a list of "
                         "strings.", code=E_MODEL_FIELD)
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise where.at(i).fail(f"is {json_type(v)} ({shown(v)}); expected a string.", code=E_MODEL_FIELD)
    return value


# --------------------------------------------------------------------------------------------- .npz archives

@dataclass(frozen=True)
class ArrayHeader:
    """What an archive member says it holds, read from its ``.npy`` header alone."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    member: zipfile.ZipInfo

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def npz_headers(path: Path | BinaryIO, where: Where, *, limit: int = MAX_NPZ_BYTES,
                max_array: int = MAX_ARRAY_BYTES) -> dict[str, ArrayHeader]:
    """Each array's shape and dtype, from the archive's directory and the ``.npy`` headers only.

    Refuses pickled (object) arrays, arrays over ``max_array`` bytes, and members whose declared
    size is not what their header says (so decompression can never run past what was checked).
    ``path`` may be an open binary file (bytes already read and hashed, their size checked).
    """
    if isinstance(path, Path):
        check_size(path, limit, where)
    out: dict[str, ArrayHeader] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_NPZ_MEMBERS:
                raise where.fail(f"holds {len(members)} arrays; a model file holds a few dozen.", code=E_MODEL_TOO_LARGE)
            for info in members:
                name = info.filename[:-4] if info.filename.endswith(".npy") else None
                if not name or name in out:
                    raise where.fail(f"holds {info.filename!r}, which is not one numpy array (.npy) of an .npz file.",
                                     code=E_MODEL_UNREADABLE)
                out[name] = _member_header(zf, info, name, where, max_array)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise where.fail(f"is not a numpy .npz archive ({exc}).", code=E_MODEL_UNREADABLE) from None
    return out


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, where: Where,
                   max_array: int) -> ArrayHeader:
    here = where.array(name)
    with zf.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=MAX_HEADER_BYTES)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=MAX_HEADER_BYTES)
            else:
                raise ValueError(f".npy format {version} (this package reads 1.0 and 2.0)")
        except (ValueError, SyntaxError, TypeError) as exc:
            raise here.fail(f"has no readable .npy header ({exc}).", code=E_MODEL_UNREADABLE) from None
        offset = fp.tell()
    if dtype.hasobject:
        raise here.fail("holds Python objects (pickled data); a model holds plain numbers only.",
                        code=E_MODEL_UNREADABLE, hint="this is not a model file this package made: " + HINT_COPY)
    head = ArrayHeader(name, tuple(int(s) for s in shape), dtype, bool(fortran), info)
    if head.nbytes > max_array:
        raise here.fail(f"has shape {head.shape} of {dtype}, {head.nbytes / MiB:,.0f} MiB once decompressed; this "
                        f"package reads at most {max_array / MiB:.0f} MiB per array.", code=E_MODEL_TOO_LARGE,
                        hint="this is not a model file this package made: " + HINT_COPY)
    if info.file_size != offset + head.nbytes:
        raise here.fail(f"declares {info.file_size} bytes, but its header says {offset + head.nbytes} "
                        f"(shape {head.shape} of {dtype}).", code=E_MODEL_UNREADABLE)
    return head


def read_arrays(path: Path | BinaryIO, heads: Mapping[str, ArrayHeader], names: Sequence[str], where: Where) -> dict[str, np.ndarray]:
    """The named arrays, whose headers were checked (``npz_headers``), loaded without pickle."""
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for name in names:
                with zf.open(heads[name].member) as fp:
                    arr = np.lib.format.read_array(fp, allow_pickle=False, max_header_size=MAX_HEADER_BYTES)
                if arr.shape != heads[name].shape or arr.dtype != heads[name].dtype:
                    raise where.array(name).fail("changed while it was read.", code=E_MODEL_UNREADABLE)
                out[name] = arr
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise where.fail(f"could not be read ({exc}).", code=E_MODEL_UNREADABLE) from None
    return out
