"""Static token embeddings distilled from the fine-tuned encoder: a turn's vector without a transformer.

Each piece of a restricted vocabulary (the encoder's sentencepiece pieces seen in the training
conversations, and frequent whole words) carries the vector the fine-tuned encoder gives it alone,
reduced by PCA and weighted by rarity (training/samtaleanalyse_training/static_distill.py). A turn's
vector is the mean of its pieces' vectors, L2-normalised: a dictionary look-up and a sum, numpy only,
hundreds of times faster than the encoder, and a coarser meaning.

Words are cut into pieces by greedy longest match over the vocabulary (a word's first piece carries
the sentencepiece word mark ``▁``); characters no piece covers are skipped, so an unknown script
gives an empty (zero) vector rather than an error.

File ``static_embed.npz`` (plain arrays, read with ``allow_pickle=False``)::

    header       uint8, UTF-8 JSON: {"format": 1, "dim", "n_pieces", "teacher", "max_piece_chars"}
    piece_bytes  uint8, the pieces' UTF-8 bytes, one after the other
    piece_ends   int64 (n_pieces,), each piece's end offset in piece_bytes
    vectors      float16 (n_pieces, dim), weights folded in

Its encoder entry in a model folder's metadata: ``{"kind": "static", "path": "static_embed.npz",
"dim": d, "version": "static.<first 16 hex of the file's SHA-256>", "sha256": ...}``.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import E_MODEL_FIELD, E_MODEL_HASH, E_MODEL_INCOMPATIBLE, E_MODEL_UNREADABLE, E_MODEL_WEIGHTS
from .model_files import (MiB, Where, check_size, inside, need_int, need_object, need_str, npz_headers, parse_json,
                          plain, read_arrays, shown)

STATIC_FORMAT = 1
STATIC_FILE = "static_embed.npz"
ENCODER_KIND = "static"
WORD_MARK = "\u2581"
MAX_STATIC_BYTES = 64 * MiB       # the shipped file is about 10 MB
MAX_PIECES = 1_000_000
MAX_DIM = 1024
MAX_PIECE_CHARS = 64
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPACES = re.compile(r"\s+")
WORD_CACHE = 200_000              # words remembered with their pieces (customer service repeats itself)


def normalise(text: str) -> str:
    """NFKC and single spaces, as the encoder's own tokenizer normalises (case is kept: pieces are cased)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


class StaticEmbedding:
    """``encode(texts) -> (n, dim) float32``, L2-normalised (zero for a text no piece covers)."""

    def __init__(self, pieces: Sequence[str], vectors: np.ndarray, *, version: str = "static",
                 name: str = "static") -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(pieces):
            raise ValueError(f"{len(pieces)} pieces and vectors of shape {vectors.shape}")
        self.index = {p: i for i, p in enumerate(pieces)}
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.dim = int(vectors.shape[1])
        self.version = version
        self.name = name
        self.max_chars = max((len(p) for p in pieces), default=1)
        self._words: dict[str, list[int]] = {}

    def pieces_of(self, word: str) -> list[int]:
        """Greedy longest match of ``▁word`` over the vocabulary; uncovered characters are skipped."""
        ids = self._words.get(word)
        if ids is not None:
            return ids
        s, pos, ids = WORD_MARK + word, 0, []
        while pos < len(s):
            for end in range(min(len(s), pos + self.max_chars), pos, -1):
                i = self.index.get(s[pos:end])
                if i is not None:
                    ids.append(i)
                    pos = end
                    break
            else:
                pos += 1
        if len(self._words) >= WORD_CACHE:
            self._words.clear()
        self._words[word] = ids
        return ids

    def token_ids(self, text: str) -> list[int]:
        return [i for word in normalise(text).split(" ") if word for i in self.pieces_of(word)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, text in enumerate(texts):
            ids = self.token_ids(text)
            if ids:
                out[r] = self.vectors[ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


# --------------------------------------------------------------------------------------------- the file

def write_static(path: str | Path, pieces: Sequence[str], vectors: np.ndarray, *, teacher: str) -> str:
    """Write the file; returns its SHA-256 (the bytes are deterministic for the same inputs)."""
    encoded = [p.encode("utf-8") for p in pieces]
    header = {"format": STATIC_FORMAT, "dim": int(vectors.shape[1]), "n_pieces": len(pieces), "teacher": teacher,
              "max_piece_chars": max((len(p) for p in pieces), default=0)}
    buf = io.BytesIO()
    np.savez_compressed(buf, header=np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
                        piece_bytes=np.frombuffer(b"".join(encoded), dtype=np.uint8),
                        piece_ends=np.cumsum([len(b) for b in encoded], dtype=np.int64),
                        vectors=np.asarray(vectors, dtype=np.float16))
    raw = _deterministic_zip(buf.getvalue())
    Path(path).write_bytes(raw)
    return hashlib.sha256(raw).hexdigest()


def _deterministic_zip(raw: bytes) -> bytes:
    """The same archive with fixed member timestamps, so the same vectors give the same hash."""
    import zipfile

    src, out = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info))
    return out.getvalue()


def read_static(raw: bytes, where: Where, *, dim: int | None = None) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """Pieces, vectors and header of a static file's bytes (already hashed), every array checked first."""
    archive = io.BytesIO(raw)
    heads = npz_headers(archive, where, limit=MAX_STATIC_BYTES)
    expected = {"header", "piece_bytes", "piece_ends", "vectors"}
    if set(heads) != expected:
        raise where.fail(f"holds arrays {sorted(heads)}; a static embedding file holds {sorted(expected)}.",
                         code=E_MODEL_UNREADABLE)
    h = heads["header"]
    if h.dtype != np.uint8 or len(h.shape) != 1 or h.nbytes > MiB:
        raise where.array("header").fail("is not the file's JSON header (uint8 bytes).", code=E_MODEL_UNREADABLE)
    header = need_object(parse_json(read_arrays(archive, heads, ["header"], where)["header"].tobytes(),
                                    where.array("header")), where.array("header"))
    if header.get("format") != STATIC_FORMAT:
        raise where.array("header").fail(f"has format {shown(header.get('format'))}; this version reads {STATIC_FORMAT}.",
                                         code=E_MODEL_INCOMPATIBLE, hint="distil the embeddings again with this version.")
    n = need_int(header.get("n_pieces"), where.array("header").at("n_pieces"), 1, MAX_PIECES)
    d = need_int(header.get("dim"), where.array("header").at("dim"), 1, MAX_DIM)
    if dim is not None and d != dim:
        raise where.array("header").at("dim").fail(f"is {d}; the heads were fitted on {dim}-wide vectors.",
                                                   code=E_MODEL_WEIGHTS)
    shapes = {"piece_ends": ((n,), "i"), "vectors": ((n, d), "f")}
    for name, (shape, kind) in shapes.items():
        if heads[name].shape != shape or heads[name].dtype.kind != kind:
            raise where.array(name).fail(f"has shape {heads[name].shape} of {heads[name].dtype}; the header implies "
                                         f"{shape}.", code=E_MODEL_WEIGHTS)
    if heads["vectors"].dtype.itemsize not in (2, 4) or heads["piece_bytes"].dtype != np.uint8 \
            or len(heads["piece_bytes"].shape) != 1:
        raise where.fail("holds vectors that are not float16/float32 or piece bytes that are not uint8.",
                         code=E_MODEL_UNREADABLE)
    data = read_arrays(archive, heads, ["piece_bytes", "piece_ends", "vectors"], where)
    ends = data["piece_ends"].astype(np.int64)
    blob = data["piece_bytes"].tobytes()
    starts = np.concatenate([[0], ends[:-1]])
    if ends[-1] != len(blob) or (ends - starts < 1).any() or (ends - starts > 4 * MAX_PIECE_CHARS).any():
        raise where.array("piece_ends").fail("does not cut piece_bytes into non-empty pieces.", code=E_MODEL_WEIGHTS)
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(starts.tolist(), ends.tolist())]
    except UnicodeDecodeError:
        raise where.array("piece_bytes").fail("is not UTF-8.", code=E_MODEL_UNREADABLE) from None
    if len(set(pieces)) != n:
        raise where.array("piece_bytes").fail("holds a piece twice.", code=E_MODEL_WEIGHTS)
    vectors = data["vectors"].astype(np.float32)
    if not np.isfinite(vectors).all() or float(np.abs(vectors).max(initial=0.0)) > 1e3:
        raise where.array("vectors").fail("holds NaN, infinite or huge values.", code=E_MODEL_WEIGHTS)
    return pieces, vectors, header


def load_static(path: str | Path, expect_sha256: str | None = None, where: Where | None = None) -> StaticEmbedding:
    """A static embedding file, its hash checked against ``expect_sha256`` before anything is parsed."""
    path = Path(path)
    where = where or Where(path)
    check_size(path, MAX_STATIC_BYTES, where)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if expect_sha256 is not None and sha != expect_sha256:
        raise where.fail(f"has SHA-256 {sha[:16]}…; the heads were fitted on {expect_sha256[:16]}….", code=E_MODEL_HASH,
                         hint="copy the whole model folder again, or distil the first stage again.")
    pieces, vectors, _ = read_static(raw, where)
    return StaticEmbedding(pieces, vectors, version=static_version(sha), name=f"static:{path.name}")


def static_version(sha256: str) -> str:
    return f"static.{sha256[:16]}"


# --------------------------------------------------------------------------------------------- encoder kind

class StaticKind:
    """``encoder.kind = "static"``: the folder's static embedding file, checked by hash and shape."""

    name = ENCODER_KIND

    def check(self, entry: Mapping[str, Any], folder: Path, root: Path, where: Where):  # type: ignore[no-untyped-def]
        from .encoder_kinds import EncoderSpec

        rel = entry.get("path")
        real = inside(root, rel, where.at("path"), missing=f"names the static embeddings {rel!r}, which are missing.")
        dim = need_int(entry.get("dim"), where.at("dim"), 1, MAX_DIM)
        version = need_str(entry.get("version"), where.at("version"), max_len=200)
        recorded = entry.get("sha256")
        if not isinstance(recorded, str) or not _SHA256.fullmatch(recorded):
            raise where.at("sha256").fail(f"is {shown(recorded)}; expected the file's SHA-256 (64 hex digits).",
                                          code=E_MODEL_FIELD)
        file_where = Where(folder / str(rel))
        check_size(real, MAX_STATIC_BYTES, file_where)
        raw = real.read_bytes()
        sha = hashlib.sha256(raw).hexdigest()
        if sha != recorded:
            raise file_where.fail(f"has SHA-256 {sha[:16]}…, but the heads were fitted on {recorded[:16]}… "
                                  f"({where.file} field {where.field}/sha256).", code=E_MODEL_HASH,
                                  hint="copy the whole model folder again, or distil the embeddings again.")
        if version != static_version(sha):
            raise where.at("version").fail(f"is {plain(version)}; the file is {static_version(sha)}.",
                                           code=E_MODEL_INCOMPATIBLE)
        read_static(raw, file_where, dim=dim)
        return EncoderSpec(self.name, dim, version, folder / str(rel), sha)

    def check_version(self, spec: Any, version: str, where: Where) -> None:
        if version != spec.version:
            raise where.at("version").fail(f"the heads were fitted on {plain(spec.version)}; the embeddings given are "
                                           f"{plain(version)}.", code=E_MODEL_INCOMPATIBLE)

    def build(self, spec: Any, num_threads: int | None) -> StaticEmbedding:
        return load_static(spec.path, spec.sha256)
