"""A two-stage turn classifier: a cheap first stage decides the turns it is sure of, the encoder the rest.

The first stage is a model folder of its own inside the main one (static token embeddings, character
n-grams and cues: static_embed.py), named by the main model's metadata::

    "first_stage": {"enabled": true, "path": "first_stage",
                    "sha256": {"metadata.json": ..., "weights.npz": ..., "vocabulary.json": ...},
                    "margins": {"attitude": m, "behaviours": {label: m, ...}}, "calibration": {...}}

A customer turn keeps the first stage's attitude when its top probability is at least
``margins.attitude``; an agent turn keeps the first stage's behaviours when every behaviour's
probability lies at least its margin away from that behaviour's threshold. Every other turn goes to
the second stage, the main model with whatever encoder it has. The margins are calibrated on dev so
that the cascade's macro-F1 stays within a set distance of the second stage alone
(training/samtaleanalyse_training/static_distill.py).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import E_MODEL_FIELD, E_MODEL_HASH
from .artefact import TurnModel, read_model
from .features import Encoder
from .model_files import Where, inside, need_number, need_object, shown

FIRST_STAGE_FILES = ("metadata.json", "weights.npz", "vocabulary.json")


@dataclass(frozen=True)
class Margins:
    """How sure the first stage must be to keep a turn: per task, and per behaviour."""

    attitude: float
    behaviours: np.ndarray  # (k,), in the behaviour head's label order

    def keep_attitude(self, proba: np.ndarray) -> np.ndarray:
        return proba.max(axis=1) >= self.attitude

    def keep_behaviours(self, proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        return (np.abs(proba - thresholds) >= self.behaviours).all(axis=1)

    def keep(self, task: str, proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """Rows of ``proba`` the first stage keeps (a boolean mask)."""
        if task == "attitude":
            return self.keep_attitude(proba)
        return self.keep_behaviours(proba, thresholds)

    def as_json(self, labels: tuple[str, ...]) -> dict[str, Any]:
        return {"attitude": round(float(self.attitude), 4),
                "behaviours": {l: round(float(m), 4) for l, m in zip(labels, self.behaviours)}}


@dataclass(frozen=True)
class Cascade:
    """The first stage: its model, its (static) encoder and the hand-off margins."""

    model: TurnModel
    encoder: Encoder
    margins: Margins


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_cascade(folder: str | Path, meta: Mapping[str, Any], num_threads: int | None = None) -> Cascade:
    """The first stage a main model folder names, its files checked against the hashes the main metadata records
    (so a first stage calibrated against other heads is refused), then loaded like any model folder."""
    from .loading import build_encoder
    from .model_meta import read_spec

    folder = Path(folder)
    where = Where(folder / "metadata.json").at("first_stage")
    if "first_stage" not in meta:
        raise where.fail("is missing: this model has no first stage for a cascade.", code=E_MODEL_FIELD,
                         hint="score without --cascade, or use a model folder made with a first stage.")
    entry = need_object(meta["first_stage"], where)
    if entry.get("enabled") is not True:
        raise where.at("enabled").fail(f"is {shown(entry.get('enabled'))}; the first stage is switched off.",
                                       code=E_MODEL_FIELD, hint="score without --cascade.")
    root = folder.resolve()
    sub = inside(root, entry.get("path"), where.at("path"), folder=True)
    hashes = need_object(entry.get("sha256"), where.at("sha256"))
    for name in FIRST_STAGE_FILES:
        path = sub / name
        recorded = hashes.get(name)
        if not path.is_file():
            raise Where(folder / str(entry["path"]) / name).fail("is missing.", code=E_MODEL_FIELD)
        got = file_sha256(path)
        if got != recorded:
            raise Where(folder / str(entry["path"]) / name).fail(
                f"has SHA-256 {got[:16]}…; the main model's first_stage entry records {shown(recorded)}.",
                code=E_MODEL_HASH, hint="copy the whole model folder again, or calibrate the cascade again.")
    spec = read_spec(folder / str(entry["path"]))
    encoder = build_encoder(spec, num_threads)
    model = read_model(spec, encoder_version=encoder.version)
    m = need_object(entry.get("margins"), where.at("margins"))
    labels = model.heads["behaviours"].labels
    beh = need_object(m.get("behaviours"), where.at("margins", "behaviours"))
    if set(beh) != set(labels):
        raise where.at("margins", "behaviours").fail(f"names {sorted(beh)}; expected {list(labels)}.",
                                                     code=E_MODEL_FIELD)
    margins = Margins(need_number(m.get("attitude"), where.at("margins", "attitude"), 0.0, 1.01),
                      np.array([need_number(beh[l], where.at("margins", "behaviours", l), 0.0, 1.01) for l in labels]))
    return Cascade(model, encoder, margins)
