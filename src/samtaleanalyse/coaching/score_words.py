"""The score's breakdown in the reader's language: the findings' titles and their points, never codes.

It reads the breakdown as ``conversations.jsonl`` stores it (``QualityScore.to_dict()``), so the
Markdown feedback and the HTML report explain the same record in the same words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .texts import Texts


@dataclass(frozen=True)
class ScoreLine:
    title: str
    points: float          # negative for issues
    shown: str             # the points as the language writes them: "−15", "+5"


@dataclass(frozen=True)
class ScoreWords:
    value: int
    base: float
    lost: tuple[ScoreLine, ...]
    won: tuple[ScoreLine, ...]
    bonus: float            # what the strengths actually won back, after the cap
    sentences: tuple[str, ...]
    notes: tuple[str, ...]  # the last of the sentences: the rules behind the numbers (cap, clipping)

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def describe_score(breakdown: Mapping[str, Any], texts: Texts,
                   titles: Mapping[str, str] | None = None) -> ScoreWords:
    """``breakdown`` is a record's ``score_breakdown``; ``titles`` maps finding codes to the titles to show
    (default: the titles in ``texts``)."""
    def title(code: str) -> str:
        if titles and code in titles:
            return titles[code]
        return texts.findings[code].title if code in texts.findings else code

    items = breakdown.get("breakdown", ())
    lost = tuple(ScoreLine(title(i["code"]), float(i["points"]), texts.signed(float(i["points"])))
                 for i in items if i["kind"] == "issue")
    won = tuple(ScoreLine(title(i["code"]), float(i["points"]), texts.signed(float(i["points"])))
                for i in items if i["kind"] != "issue")
    base = float(breakdown.get("base", 100))
    bonus = float(breakdown.get("strength_bonus", 0))
    value = int(breakdown.get("value", round(base)))
    s = texts.score

    def listed(lines: tuple[ScoreLine, ...]) -> str:
        # Titles may hold commas ("Feelings first, then the solution"), so items are set apart by semicolons.
        return "; ".join(s["item"].format(title=line.title, points=line.shown) for line in lines)

    sentences = [s["base"].format(base=texts.number(base))]
    sentences.append(s["lost"].format(items=listed(lost)) if lost else s["none_lost"])
    notes = []
    if won and lost:
        sentences.append(s["won"].format(bonus=texts.number(bonus), items=listed(won)))
        if bonus < sum(line.points for line in won):
            notes.append(s["limit"].format(cap=texts.number(float(breakdown.get("strength_bonus_cap", 0))),
                                           share=texts.percent(float(breakdown.get("strength_recovery", 0)))))
    elif won:
        notes.append(s["not_needed"].format(items=listed(won)))
    unclipped = base + sum(line.points for line in lost) + bonus
    if unclipped < 0:
        notes.append(s["clipped_low"])
    elif unclipped > 100:
        notes.append(s["clipped_high"])
    return ScoreWords(value, base, lost, won, bonus, tuple(sentences + notes), tuple(notes))
