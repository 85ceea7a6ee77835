"""The training run: fit the model (``fitting.py``), save it, describe it (card, baseline, leave-one-language-out).

What a run does is set by a :class:`~.config.TrainConfig`; how the heads and thresholds are fitted lives in
``fitting.py`` and the figures in ``metrics.py`` / ``evaluate.py``. The names other code has always imported
from here (``TrainConfig``, ``fit``, ``best_threshold``, ...) are re-exported below.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from samtaleanalyse.classify.artefact import TurnModel, save_model
from samtaleanalyse.classify.encoder import E5Encoder

from .card import model_card
from .config import TrainConfig
from .extra_data import training_examples
from .evaluate import human_agreement
from .fitting import (Block, Scaling, _design, _unfold, behaviour_C, best_temperature, data_hash, fit,  # noqa: F401
                      group_folds, threshold_grid, zero_encoder)
from .lolo import leave_one_language_out
from .metrics import best_threshold  # noqa: F401


def train(config: TrainConfig, *, card: bool = True, baseline: bool = False, lolo: bool = False,
          lolo_split: str = "dev") -> tuple[Path, dict[str, Any]]:
    """Fit, save and describe the model; optionally the n-gram baseline and leave-one-language-out beside it."""
    examples = training_examples(config)  # the corpus, plus [extra_data] when the config asks for it
    encoder = E5Encoder.from_env(num_threads=2)
    model, dev_metrics = fit(config, examples, encoder)
    meta = dict(model.metadata)
    meta["metrics"] = {"dev": dev_metrics}
    agreement = human_agreement(config.corpus)
    if agreement:
        meta["human_agreement"] = agreement
    base_model = None
    if baseline:
        base_model, base_dev = fit(config.baseline(), examples)
        meta["baseline"] = {"description": "character n-gram tf-idf only (no encoder, no cues), same heads and tuning",
                            "metrics": {"dev": base_dev}, "tuning": base_model.metadata.get("tuning", {})}
    if lolo:
        meta["leave_one_language_out"] = leave_one_language_out(config, examples, encoder, split=lolo_split,
                                                                baseline=baseline, full_model=model,
                                                                baseline_model=base_model)
    model = TurnModel(model.heads, model.vectorizer, meta, model.cues)
    out = save_model(model, config.out)
    if card:
        saved = json.loads((out / "metadata.json").read_text(encoding="utf-8"))  # as written, with lexical and tasks
        (out / "README.md").write_text(model_card(saved), encoding="utf-8")
    return out, dev_metrics
