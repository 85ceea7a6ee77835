"""A transparent 0-100 quality score: a base, minus each counted issue, plus counted strengths.

Strengths win back at most ``strength_recovery`` of what the issues cost (and at most the cap), so
a conversation with a fault never scores as if it had none, and one without faults scores the base.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .config import CoachingConfig
from .rules import Detection


@dataclass(frozen=True)
class ScoreItem:
    code: str
    kind: str
    points: float      # negative for issues


@dataclass(frozen=True)
class QualityScore:
    value: int
    base: float
    items: tuple[ScoreItem, ...]
    strength_bonus: float           # after the cap
    strength_bonus_cap: float
    strength_recovery: float

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "base": self.base,
                "breakdown": [{"code": i.code, "kind": i.kind, "points": i.points} for i in self.items],
                "strength_bonus": self.strength_bonus, "strength_bonus_cap": self.strength_bonus_cap,
                "strength_recovery": self.strength_recovery,
                "formula": "base - issues + min(strengths, cap, recovery * issues), clipped to 0..100"}


def quality_score(detections: Sequence[Detection], config: CoachingConfig) -> QualityScore:
    items = []
    for d in detections:
        rule = config.rule(d.code)
        if rule.counts_toward_score and rule.points:
            sign = -1 if rule.kind == "issue" else 1
            items.append(ScoreItem(d.code, rule.kind, sign * rule.points))
    penalty = -sum(i.points for i in items if i.kind == "issue")
    bonus = min(sum(i.points for i in items if i.kind == "strength"), config.strength_bonus_cap,
                config.strength_recovery * penalty)
    value = int(round(max(0.0, min(100.0, config.base_score - penalty + bonus))))
    return QualityScore(value, config.base_score, tuple(items), bonus, config.strength_bonus_cap,
                        config.strength_recovery)
