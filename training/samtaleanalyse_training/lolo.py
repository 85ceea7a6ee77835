"""Leave one language out: how the model does on a language it never saw in training.

For each language L the model is trained on the other four languages' training conversations
(thresholds tuned by cross-validation on those alone), then scored on L's conversations of the
chosen split. ``split`` is a parameter: dev while the model is being developed, test once at
the end. The in-language figure beside it is the full model's score on the same turns.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Sequence

from samtaleanalyse.conversation import LANGUAGES

from .config import TrainConfig
from .data import Example
from .evaluate import score_predictions
from .fitting import fit, zero_encoder


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    return {task: metrics[task]["macro_f1"] for task in ("attitude", "behaviours") if task in metrics}


def leave_one_language_out(config: TrainConfig, examples: Sequence[Example], encoder: Any, *, split: str = "dev",
                           baseline: bool = False, languages: Sequence[str] = LANGUAGES, full_model: Any = None,
                           baseline_model: Any = None) -> dict[str, Any]:
    """``{"split": ..., "languages": {L: {"attitude": F1, "behaviours": F1, "in_language": {...},
    "baseline": {...}?, "metrics": full metrics}}}``."""
    if config.tuning.get("thresholds", "cv") != "cv" and split == "dev":
        # tuning on dev would tune on the very turns being scored (or on other languages' dev turns)
        config = copy.deepcopy(config)
        config.tuning = {**config.tuning, "thresholds": "cv"}
    rows_by_lang = {l: [e for e in examples if e.split == split and e.language == l] for l in languages}
    full = full_model if full_model is not None else fit(config, examples, encoder)[0]
    base_full = (baseline_model if baseline_model is not None else fit(config.baseline(), examples)[0]) if baseline else None
    out: dict[str, Any] = {"split": split, "train_splits": list(config.train_splits), "languages": {}}
    for lang in languages:
        rows = rows_by_lang[lang]
        if not rows:
            continue
        cfg = copy.deepcopy(config)
        cfg.exclude_languages = tuple(sorted(set(config.exclude_languages) | {lang}))
        model, _ = fit(cfg, examples, encoder)
        m = score_predictions(model, rows, encoder)
        entry: dict[str, Any] = {**_summary(m), "in_language": _summary(score_predictions(full, rows, encoder)),
                                 "metrics": m}
        if baseline and base_full is not None:
            bcfg = cfg.baseline()
            bmodel, _ = fit(bcfg, examples)
            entry["baseline"] = _summary(score_predictions(bmodel, rows, zero_encoder()))
            entry["baseline_in_language"] = _summary(score_predictions(base_full, rows, zero_encoder()))
        out["languages"][lang] = entry
    return out


def write_results(results: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return p
