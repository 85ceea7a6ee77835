"""The settings of a training run (`samtaleanalyse train --config FILE.toml`), read from TOML.

Every key of the file is a field here; an unknown key is an error rather than a silently ignored typo.
The sections (``[features]``, ``[attitude]``, ``[behaviours]``, ``[tuning]``) are read by ``fitting.py``.
"""
from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtaleanalyse.classify.cues import BLOCKS


@dataclass
class TrainConfig:
    name: str = "turns-e5-lex"
    version: str = "0.1.0"
    corpus: str = "data/annotated/conversations"
    out: str = "models/turns-e5-lex"
    seed: int = 13
    features: dict[str, Any] = field(default_factory=dict)
    attitude: dict[str, Any] = field(default_factory=dict)
    behaviours: dict[str, Any] = field(default_factory=dict)
    attitude_uncertain: dict[str, Any] = field(default_factory=dict)
    tuning: dict[str, Any] = field(default_factory=dict)
    train_splits: tuple[str, ...] = ("train",)
    limit_conversations: int | None = None
    exclude_languages: tuple[str, ...] = ()
    extra_data: dict[str, Any] = field(default_factory=dict)   # extra_data.py: Twitter train part, ASR calls
    # origin (data.ORIGINS) -> weight of its rows in the heads' fit, default 1. Weights are absolute: raising every
    # origin alike weakens the regularisation (as a larger C). They enter the coefficients and the weighted
    # class balance, not the tuning: thresholds and temperature are chosen on unweighted rows (dev or out-of-fold).
    row_weights: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainConfig":
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        for key in ("train_splits", "exclude_languages"):
            if key in data:
                data[key] = tuple(data[key])
        cfg = cls(**data)
        from .extra_data import check

        check(cfg.extra_data)
        check_row_weights(cfg.row_weights, path)  # fit() checks again, for a config built in code
        blocks = cfg.features.get("cues", list(BLOCKS))
        if set(blocks) - set(BLOCKS):
            raise ValueError(f"{path}: unknown cue block(s) {sorted(set(blocks) - set(BLOCKS))}; known: {list(BLOCKS)}")
        check_label_rules(cfg.behaviours.get("label_rules", []), path)
        return cfg

    def row_weight(self, origin: str) -> float:
        return float(self.row_weights.get(origin, 1.0))

    def baseline(self) -> "TrainConfig":
        """The character n-gram baseline: same heads and tuning, no encoder and no cue features."""
        cfg = copy.deepcopy(self)
        cfg.name = f"{self.name}-baseline"
        cfg.features = {**self.features, "dense": False, "cues": []}
        return cfg


def check_label_rules(rules: Any, where: str | Path = "label_rules") -> None:
    """``[behaviours] label_rules``: names of the behaviour labels' guideline rules (``classify/label_rules.py``)."""
    from samtaleanalyse.classify.label_rules import RULE_TASKS

    known = [r for r, task in RULE_TASKS.items() if task == "behaviours"]
    if not isinstance(rules, (list, tuple)) or any(r not in known for r in rules):
        raise ValueError(f"{where}: [behaviours] label_rules must be a list of {known}, not {rules!r}")


def is_row_weight(value: Any) -> bool:
    """A finite number above 0 (not a bool, not a string)."""
    import math

    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def check_row_weights(weights: dict[str, Any], where: str | Path = "row_weights") -> None:
    """Each key an origin of ``data.ORIGINS``, each weight a finite number above 0."""
    from .data import ORIGINS

    if not isinstance(weights, dict):
        raise ValueError(f"{where}: row_weights must be a table of origin = weight ({', '.join(ORIGINS)}), "
                         f"not {weights!r}")
    for key, value in weights.items():
        if key not in ORIGINS:
            raise ValueError(f"{where}: [row_weights] has unknown origin {key!r}; known: {', '.join(ORIGINS)}")
        if not is_row_weight(value):
            raise ValueError(f"{where}: [row_weights] {key} must be a number above 0, not {value!r}")
