"""The label vocabularies. Their names are part of the output format: never rename one."""
from __future__ import annotations

ATTITUDES: tuple[str, ...] = ("hostile", "sceptical", "loyal", "neutral")
BEHAVIOURS: tuple[str, ...] = (
    "apology", "empathy", "paraphrase", "question", "solution", "compensation", "thanks",
    "follow_up", "blame", "contradiction", "improvement",
)
SPLITS: tuple[str, ...] = ("train", "dev", "test")
