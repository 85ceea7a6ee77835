"""Character n-gram features: the lexical evidence ("beklager", "sorry", "tack") embeddings blur.

One implementation serves training and inference, so a model never meets features computed
differently from those it learned on. State is plain arrays: a vocabulary and its idf.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

_SPACES = re.compile(r"\s+")
_WORD_CACHE_SIZE = 200_000


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    return _SPACES.sub(" ", text).strip()


def char_ngrams(text: str, n_min: int = 2, n_max: int = 5) -> list[str]:
    """n-grams inside word boundaries (each word padded with spaces), as in word-bounded char models."""
    grams: list[str] = []
    for word in normalise(text).split(" "):
        padded = f" {word} "
        for n in range(n_min, n_max + 1):
            if len(padded) < n:
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


@dataclass
class SparseRows:
    """Rows of a sparse matrix as parallel arrays (CSR without scipy)."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    n_features: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def take(self, rows: Sequence[int]) -> "SparseRows":
        """The given rows, in that order."""
        indptr = [0]
        idx_parts, val_parts = [], []
        for r in rows:
            lo, hi = self.indptr[r], self.indptr[r + 1]
            idx_parts.append(self.indices[lo:hi])
            val_parts.append(self.values[lo:hi])
            indptr.append(indptr[-1] + int(hi - lo))
        indices = np.concatenate(idx_parts).astype(np.int64) if idx_parts else np.zeros(0, np.int64)
        values = np.concatenate(val_parts).astype(np.float32) if val_parts else np.zeros(0, np.float32)
        return SparseRows(np.array(indptr, dtype=np.int64), indices, values, self.n_features)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``rows @ weights.T`` for ``weights`` of shape (k, n_features): (n_rows, k)."""
        out = np.zeros((len(self), weights.shape[0]), dtype=np.float64)
        for r in range(len(self)):
            lo, hi = self.indptr[r], self.indptr[r + 1]
            if hi > lo:
                out[r] = weights[:, self.indices[lo:hi]] @ self.values[lo:hi]
        return out


class CharNgramVectorizer:
    """Sublinear tf-idf of character n-grams, L2-normalised per text."""

    def __init__(self, n_min: int = 2, n_max: int = 5, min_df: int = 2, max_features: int = 60000) -> None:
        self.n_min = n_min
        self.n_max = n_max
        self.min_df = min_df
        self.max_features = max_features
        self._word_cache: dict[str, list[int]] = {}  # word -> vocabulary indices of its n-grams (_word_ids)

    def fit(self, texts: Iterable[str]) -> "CharNgramVectorizer":
        df: Counter[str] = Counter()
        n_docs = 0
        for text in texts:
            df.update(set(char_ngrams(text, self.n_min, self.n_max)))
            n_docs += 1
        kept = [g for g, c in df.items() if c >= self.min_df]
        kept.sort(key=lambda g: (-df[g], g))
        kept = sorted(kept[: self.max_features])
        self.vocabulary_ = {g: i for i, g in enumerate(kept)}
        self._word_cache = {}  # indices of the old vocabulary mean nothing now
        self.idf_ = np.array([math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in kept], dtype=np.float32)
        return self

    @classmethod
    def from_state(cls, vocabulary: Sequence[str], idf: np.ndarray, n_min: int, n_max: int) -> "CharNgramVectorizer":
        vec = cls(n_min=n_min, n_max=n_max)
        vec.vocabulary_ = {g: i for i, g in enumerate(vocabulary)}
        vec.idf_ = np.asarray(idf, dtype=np.float32)
        return vec

    @property
    def n_features(self) -> int:
        return len(self.vocabulary_)

    def _word_ids(self, word: str) -> list[int]:
        """The vocabulary indices of one word's n-grams (``char_ngrams`` of the word), remembered per word:
        turns repeat their words, and looking grams up word by word was a sixth of scoring without the encoder."""
        cache = self._word_cache
        ids = cache.get(word)
        if ids is None:
            vocab, padded = self.vocabulary_, f" {word} "
            ids = []
            for n in range(self.n_min, self.n_max + 1):
                if len(padded) < n:
                    break
                ids += [vocab[g] for g in (padded[i:i + n] for i in range(len(padded) - n + 1)) if g in vocab]
            if len(cache) >= _WORD_CACHE_SIZE:
                cache.clear()  # bounded: a month of free text must not grow it without end
            cache[word] = ids
        return ids

    def transform(self, texts: Sequence[str]) -> SparseRows:
        indptr = [0]
        idx_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        for text in texts:
            ids: list[int] = []
            for word in normalise(text).split(" "):
                ids += self._word_ids(word)
            idx, counts = np.unique(np.array(ids, dtype=np.int64), return_counts=True)
            # float32 products, as the per-gram arithmetic this replaced computed them (same values, bit for bit)
            vals = (1.0 + np.log(counts)).astype(np.float32) * self.idf_[idx]
            norm = float(np.linalg.norm(vals)) if len(vals) else 0.0
            if norm > 0:
                vals /= norm
            idx_parts.append(idx)
            val_parts.append(vals)
            indptr.append(indptr[-1] + len(idx))
        indices = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
        values = np.concatenate(val_parts) if val_parts else np.zeros(0, np.float32)
        return SparseRows(np.array(indptr, dtype=np.int64), indices.astype(np.int64),
                          values.astype(np.float32), self.n_features)
